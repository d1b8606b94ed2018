"""{{name}}: an airssys-wasm component in Python (`world component`, wit/world.wit).

| topic   | reply                                                           |
|---------|-----------------------------------------------------------------|
| `greet` | `config["greeting"] + ", " + payload` (err without a greeting)  |
| `count` | a counter kept between messages, as decimal text                |
| `log`   | logs the payload at info level, replies `logged`                |
| other   | the payload unchanged                                           |

Returning bytes is `ok`; raising `Err(text)` is a handled error; any other exception is a
crash (a trap), after which the supervisor restarts the component with fresh state.
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import config, logging
from wit_world.imports.types import Message

# Module state lives as long as the component instance.
count = 0


class Handler(exports.Handler):
    def handle(self, msg: Message) -> bytes:
        global count
        payload = bytes(msg.payload)
        if msg.topic == "greet":
            greeting = config.get("greeting")
            if greeting is None:
                raise Err("no greeting configured")
            return f"{greeting}, {payload.decode(errors='replace')}".encode()
        if msg.topic == "count":
            count += 1
            return str(count).encode()
        if msg.topic == "log":
            logging.log(logging.Level.INFO, payload.decode(errors="replace"))
            return b"logged"
        return payload
