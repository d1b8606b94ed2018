// A wasi:http/proxy component in JavaScript (componentize-js, its fetch-event handler): the
// same world `wasmtime serve` runs. `/hello` answers `hello from js`; any other path, 404.
addEventListener("fetch", (event) => {
  const path = new URL(event.request.url).pathname;
  if (path === "/hello") {
    event.respondWith(
      new Response("hello from js\n", { headers: { "content-type": "text/plain" } }),
    );
  } else {
    event.respondWith(new Response(`no such page: ${path}\n`, { status: 404 }));
  }
});
