// The JavaScript example guest for `world component` (wit/world.wit), built with
// componentize-js by scripts/build-polyglot.
//
// | topic     | behaviour                                                                    |
// |-----------|------------------------------------------------------------------------------|
// | `count`   | add 1 to an in-memory counter, reply it as decimal text                      |
// | `greet`   | reply `config["greeting"] + ", " + payload`; err if no greeting configured   |
// | `log`     | log the payload at info level; reply `logged`                                |
// | `request` | payload `TARGET TOPIC BODY`: `messaging.request`, the reply or error passed through |
// | `parse`   | payload a decimal integer: reply its double; else err("not a number: ...")   |
// | `crash`   | an uncaught exception: a trap, and the supervisor restarts the component     |
//
// Anything else is err("unknown topic: ...").
//
// How componentize-js 0.23 maps the export `handle: func(msg) -> result<list<u8>, string>`:
// returning a Uint8Array is `ok`; throwing a string, or an object with a `payload` string,
// is `err(that string)`. Anything else thrown (an `Error`, a TypeError from a bug, ...)
// makes the component trap: its generated bindings cannot turn it into the `string` of
// `err` and abort. So `throw new Error(...)` is a crash, never a handled error.
// An import returning `result` throws a ComponentError whose `payload` is the `err`
// string, so letting it propagate passes the error through unchanged.

import { get as configGet } from "airssys:component/config@0.1.0";
import { log } from "airssys:component/logging@0.1.0";
import { request } from "airssys:component/messaging@0.1.0";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Module state lives as long as the component instance: a restart starts it afresh.
let count = 0;

function handle(msg) {
  const payload = msg.payload;
  switch (msg.topic) {
    case "count":
      count += 1;
      return reply(String(count));
    case "greet": {
      const greeting = configGet("greeting");
      if (greeting === undefined || greeting === null) {
        throw "no greeting configured";
      }
      return reply(`${greeting}, ${text(payload)}`);
    }
    case "log":
      log("info", text(payload));
      return reply("logged");
    case "request": {
      const [target, topic, body] = targetTopicBody(payload);
      // An `err` reply of the target is thrown with `payload` = its string: it propagates.
      return request(target, topic, body);
    }
    case "parse": {
      const input = text(payload).trim();
      if (!/^[+-]?[0-9]+$/.test(input)) {
        throw `not a number: ${JSON.stringify(text(payload))}`;
      }
      return reply((2n * BigInt(input)).toString());
    }
    case "crash":
      throw new Error("js-guest crashed on purpose");
    default:
      throw `unknown topic: ${msg.topic}`;
  }
}

function reply(s) {
  return encoder.encode(s);
}

function text(bytes) {
  return decoder.decode(bytes);
}

// Splits `TARGET TOPIC BODY...` at the first two spaces; the body may be empty.
function targetTopicBody(payload) {
  const space = 0x20;
  const first = payload.indexOf(space);
  const second = first < 0 ? -1 : payload.indexOf(space, first + 1);
  const target = first < 0 ? payload : payload.subarray(0, first);
  const topic = first < 0 ? new Uint8Array() : payload.subarray(first + 1, second < 0 ? undefined : second);
  const body = second < 0 ? new Uint8Array() : payload.subarray(second + 1);
  if (target.length === 0 || topic.length === 0) {
    throw `expected "TARGET TOPIC [BODY]", got ${JSON.stringify(text(payload))}`;
  }
  return [text(target), text(topic), body];
}

export const handler = { handle };
