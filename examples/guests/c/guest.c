// The C example guest for `world component` (wit/world.wit): clang 19 for wasm32-wasi,
// bindings from `wit-bindgen c`, the component made by wasm-component-ld with the
// preview1 adapter. Built by scripts/build-polyglot.
//
// | topic     | behaviour                                                                    |
// |-----------|------------------------------------------------------------------------------|
// | `count`   | add 1 to an in-memory counter, reply it as decimal text                      |
// | `greet`   | reply `config["greeting"] + ", " + payload`; err if no greeting configured   |
// | `log`     | log the payload at info level; reply `logged`                                |
// | `request` | payload `TARGET TOPIC BODY`: `messaging.request`, the reply or error passed through |
// | `parse`   | payload a decimal integer: reply its double; else err("not a number: ...")   |
// | `crash`   | `__builtin_trap()`: a trap, and the supervisor restarts the component         |
//
// Anything else is err("unknown topic: ...").
//
// How wit-bindgen's C bindings map `handle: func(msg) -> result<list<u8>, string>`: the
// function returns true with `ret` set for `ok`, false with `err` set for `err`. The
// message is owned by the callee (freed here or moved into the reply); what it returns
// must come from malloc (the bindings' post-return frees it). Strings are not
// NUL-terminated: a pointer and a length.

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "component.h"

// Module state lives as long as the component instance: a restart starts it afresh.
static uint64_t count = 0;

// `ok(text)`: the reply bytes, a malloc'ed copy.
static bool reply(component_list_u8_t *ret, const char *text, size_t len) {
    ret->ptr = NULL;
    ret->len = len;
    if (len) {
        ret->ptr = malloc(len);
        if (!ret->ptr) abort();
        memcpy(ret->ptr, text, len);
    }
    return true;
}

// The payload as text for an error message, which must be UTF-8: bytes outside printable
// ASCII become `?` (a caller's bad bytes must not turn a handled error into a trap).
static char *printable(const component_list_u8_t *payload) {
    char *text = malloc(payload->len + 1);
    if (!text) abort();
    for (size_t i = 0; i < payload->len; i++) {
        uint8_t byte = payload->ptr[i];
        text[i] = byte >= 0x20 && byte < 0x7f ? (char)byte : '?';
    }
    text[payload->len] = '\0';
    return text;
}

// `err(printf-formatted text)`.
__attribute__((format(printf, 2, 3)))
static bool fail(component_string_t *err, const char *format, ...) {
    va_list args;
    va_start(args, format);
    int len = vsnprintf(NULL, 0, format, args);
    va_end(args);
    char *text = malloc((size_t)len + 1);
    if (!text) abort();
    va_start(args, format);
    vsnprintf(text, (size_t)len + 1, format, args);
    va_end(args);
    err->ptr = (uint8_t *)text;
    err->len = (size_t)len;
    return false;
}

static bool topic_is(const component_string_t *topic, const char *name) {
    size_t len = strlen(name);
    return topic->len == len && memcmp(topic->ptr, name, len) == 0;
}

// Splits `TARGET TOPIC BODY...` at the first two spaces; the body may be empty.
static bool target_topic_body(const component_list_u8_t *payload, component_string_t *target,
                              component_string_t *topic, component_list_u8_t *body) {
    uint8_t *start = payload->ptr, *end = payload->ptr + payload->len;
    uint8_t *first = memchr(start, ' ', payload->len);
    uint8_t *second = first ? memchr(first + 1, ' ', (size_t)(end - first - 1)) : NULL;
    *target = (component_string_t){start, first ? (size_t)(first - start) : payload->len};
    *topic = first ? (component_string_t){first + 1, (size_t)((second ? second : end) - first - 1)}
                   : (component_string_t){NULL, 0};
    *body = second ? (component_list_u8_t){second + 1, (size_t)(end - second - 1)}
                   : (component_list_u8_t){NULL, 0};
    return target->len > 0 && topic->len > 0;
}

static bool handle(airssys_component_types_message_t *msg, component_list_u8_t *ret,
                   component_string_t *err) {
    component_string_t *topic = &msg->topic;
    component_list_u8_t *payload = &msg->payload;

    if (topic_is(topic, "count")) {
        char text[24];
        int len = snprintf(text, sizeof text, "%" PRIu64, ++count);
        return reply(ret, text, (size_t)len);
    }
    if (topic_is(topic, "greet")) {
        component_string_t key, greeting;
        component_string_set(&key, "greeting");
        if (!airssys_component_config_get(&key, &greeting)) {
            return fail(err, "no greeting configured");
        }
        // Bytes, not C strings: a payload may hold NUL.
        size_t len = greeting.len + 2 + payload->len;
        ret->ptr = malloc(len);
        if (!ret->ptr) abort();
        memcpy(ret->ptr, greeting.ptr, greeting.len);
        memcpy(ret->ptr + greeting.len, ", ", 2);
        if (payload->len) memcpy(ret->ptr + greeting.len + 2, payload->ptr, payload->len);
        ret->len = len;
        component_string_free(&greeting);
        return true;
    }
    if (topic_is(topic, "log")) {
        component_string_t line = {payload->ptr, payload->len};
        airssys_component_logging_log(AIRSSYS_COMPONENT_LOGGING_LEVEL_INFO, &line);
        return reply(ret, "logged", 6);
    }
    if (topic_is(topic, "request")) {
        component_string_t target, target_topic;
        component_list_u8_t body;
        if (!target_topic_body(payload, &target, &target_topic, &body)) {
            char *text = printable(payload);
            fail(err, "expected \"TARGET TOPIC [BODY]\", got \"%s\"", text);
            free(text);
            return false;
        }
        // The target's reply, or its error, is handed back as it is (both owned here).
        return airssys_component_messaging_request(&target, &target_topic, &body, ret, err);
    }
    if (topic_is(topic, "parse")) {
        char text[32];
        size_t len = payload->len < sizeof text - 1 ? payload->len : sizeof text - 1;
        memcpy(text, payload->ptr, len);
        text[len] = '\0';
        char *rest;
        errno = 0;
        long long n = strtoll(text, &rest, 10);
        bool whole = len == payload->len && len > 0 && rest == text + len;
        if (!whole || errno == ERANGE || n > INT64_MAX / 2 || n < INT64_MIN / 2) {
            char *shown = printable(payload);
            fail(err, "not a number: \"%s\"", shown);
            free(shown);
            return false;
        }
        char doubled[32];
        int out = snprintf(doubled, sizeof doubled, "%lld", 2 * n);
        return reply(ret, doubled, (size_t)out);
    }
    if (topic_is(topic, "crash")) {
        __builtin_trap();
    }
    return fail(err, "unknown topic: %.*s", (int)topic->len, (const char *)topic->ptr);
}

bool exports_airssys_component_handler_handle(exports_airssys_component_handler_message_t *msg,
                                              component_list_u8_t *ret,
                                              component_string_t *err) {
    bool ok = handle(msg, ret, err);
    airssys_component_types_message_free(msg);
    return ok;
}
