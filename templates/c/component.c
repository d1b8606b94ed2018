// {{name}}: an airssys-wasm component in C (`world component`, wit/world.wit).
//
// | topic   | reply                                                           |
// |---------|-----------------------------------------------------------------|
// | `greet` | `config["greeting"] + ", " + payload` (err without a greeting)  |
// | `count` | a counter kept between messages, as decimal text                |
// | `log`   | logs the payload at info level, replies `logged`                |
// | other   | the payload unchanged                                           |
//
// The bindings (bindings/component.h) come from `wit-bindgen c` at build time. `handle`
// returns true with `ret` for `ok`, false with `err` for `err`; both must be malloc'ed
// (the bindings free them after the reply is read). The message is this function's to
// free, or to move into the reply. A trap (`__builtin_trap()`, a crash) makes the
// supervisor restart the component with fresh state.

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "component.h"

// State lives as long as the instance.
static uint64_t count = 0;

static bool topic_is(const component_string_t *topic, const char *name) {
    size_t len = strlen(name);
    return topic->len == len && memcmp(topic->ptr, name, len) == 0;
}

static bool text_reply(component_list_u8_t *ret, const char *text) {
    component_string_t copy;
    component_string_dup(&copy, text);
    ret->ptr = copy.ptr;
    ret->len = copy.len;
    return true;
}

bool exports_airssys_component_handler_handle(exports_airssys_component_handler_message_t *msg,
                                              component_list_u8_t *ret,
                                              component_string_t *err) {
    bool ok = true;
    if (topic_is(&msg->topic, "greet")) {
        component_string_t key, greeting;
        component_string_set(&key, "greeting");
        if (airssys_component_config_get(&key, &greeting)) {
            size_t len = greeting.len + 2 + msg->payload.len;
            ret->ptr = malloc(len);
            if (!ret->ptr) abort();
            memcpy(ret->ptr, greeting.ptr, greeting.len);
            memcpy(ret->ptr + greeting.len, ", ", 2);
            memcpy(ret->ptr + greeting.len + 2, msg->payload.ptr, msg->payload.len);
            ret->len = len;
            component_string_free(&greeting);
        } else {
            component_string_dup(err, "no greeting configured");
            ok = false;
        }
    } else if (topic_is(&msg->topic, "count")) {
        char text[24];
        snprintf(text, sizeof text, "%" PRIu64, ++count);
        text_reply(ret, text);
    } else if (topic_is(&msg->topic, "log")) {
        component_string_t line = {msg->payload.ptr, msg->payload.len};
        airssys_component_logging_log(AIRSSYS_COMPONENT_LOGGING_LEVEL_INFO, &line);
        text_reply(ret, "logged");
    } else {
        // The payload itself is the reply: moved out of the message, not copied.
        *ret = msg->payload;
        msg->payload = (component_list_u8_t){NULL, 0};
    }
    airssys_component_types_message_free(msg);
    return ok;
}
