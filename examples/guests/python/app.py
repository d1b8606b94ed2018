"""The Python example guest for `world component` (wit/world.wit), built with componentize-py.

Build: scripts/build-polyglot (bindings are generated from wit/ at componentize time; the
`wit_world` and `componentize_py_types` modules exist only inside the component).

| topic     | behaviour                                                                    |
|-----------|------------------------------------------------------------------------------|
| `count`   | add 1 to an in-memory counter, reply it as decimal text                      |
| `greet`   | reply `config["greeting"] + ", " + payload`; err if no greeting configured   |
| `log`     | log the payload at info level; reply `logged`                                |
| `request` | payload `TARGET TOPIC BODY`: `messaging.request`, the reply or error passed through |
| `parse`   | payload a decimal integer: reply its double; else err("not a number: ...")   |
| `crash`   | raise an uncaught exception: a trap, and the supervisor restarts the component |

Anything else is err("unknown topic: ...").

How componentize-py maps the export `handle: func(msg) -> result<list<u8>, string>`:
returning `bytes` is `ok`, raising `componentize_py_types.Err(str)` is `err`, and raising
any other exception makes the component trap (componentize-py does not turn it into `err`).
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import config, logging, messaging
from wit_world.imports.types import Message

# Module state lives as long as the component instance: a restart starts it afresh.
count = 0


class Handler(exports.Handler):
    def handle(self, msg: Message) -> bytes:
        global count
        topic = msg.topic
        payload = bytes(msg.payload)
        if topic == "count":
            count += 1
            return str(count).encode()
        if topic == "greet":
            greeting = config.get("greeting")
            if greeting is None:
                raise Err("no greeting configured")
            return f"{greeting}, {text(payload)}".encode()
        if topic == "log":
            logging.log(logging.Level.INFO, text(payload))
            return b"logged"
        if topic == "request":
            target, topic, body = target_topic_body(payload)
            # An `err` reply of the target arrives as `Err` and propagates unchanged.
            return messaging.request(target, topic, body)
        if topic == "parse":
            try:
                n = int(text(payload).strip(), 10)
            except ValueError:
                raise Err(f"not a number: {text(payload)!r}") from None
            return str(2 * n).encode()
        if topic == "crash":
            raise RuntimeError("py-guest crashed on purpose")
        raise Err(f"unknown topic: {topic}")


def text(payload: bytes) -> str:
    return payload.decode("utf-8", errors="replace")


def target_topic_body(payload: bytes) -> tuple[str, str, bytes]:
    """Splits `TARGET TOPIC BODY...` at the first two spaces; the body may be empty."""
    parts = payload.split(b" ", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise Err(f'expected "TARGET TOPIC [BODY]", got {text(payload)!r}')
    body = parts[2] if len(parts) == 3 else b""
    return text(parts[0]), text(parts[1]), body
