// {{name}}: an airssys-wasm component in JavaScript (`world component`, wit/world.wit),
// built with componentize-js.
//
// | topic   | reply                                                           |
// |---------|-----------------------------------------------------------------|
// | `greet` | `config["greeting"] + ", " + payload` (err without a greeting)  |
// | `count` | a counter kept between messages, as decimal text                |
// | `log`   | logs the payload at info level, replies `logged`                |
// | other   | the payload unchanged                                           |
//
// Returning a Uint8Array is `ok`; throwing a string is a handled error (`err`); throwing
// anything else (an Error, a TypeError from a bug) is a crash (a trap), after which the
// supervisor restarts the component with fresh state.

import { get as configGet } from "airssys:component/config@0.1.0";
import { log } from "airssys:component/logging@0.1.0";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Module state lives as long as the component instance.
let count = 0;

function handle(msg) {
  switch (msg.topic) {
    case "greet": {
      const greeting = configGet("greeting");
      if (greeting === undefined || greeting === null) {
        throw "no greeting configured";
      }
      return encoder.encode(`${greeting}, ${decoder.decode(msg.payload)}`);
    }
    case "count":
      count += 1;
      return encoder.encode(String(count));
    case "log":
      log("info", decoder.decode(msg.payload));
      return encoder.encode("logged");
    default:
      return msg.payload;
  }
}

export const handler = { handle };
