// The C++ example guest for `world component` (wit/world.wit): clang++ 19 for wasm32-wasi
// with libc++ (no exceptions: Debian's libc++ for wasm is built without them), the C
// bindings from `wit-bindgen c`, the component made by wasm-component-ld with the preview1
// adapter. Built by scripts/build-polyglot.
//
// | topic     | behaviour                                                                    |
// |-----------|------------------------------------------------------------------------------|
// | `count`   | add 1 to an in-memory counter, reply it as decimal text                      |
// | `greet`   | reply `config["greeting"] + ", " + payload`; err if no greeting configured   |
// | `log`     | log the payload at info level; reply `logged`                                |
// | `request` | payload `TARGET TOPIC BODY`: `messaging.request`, the reply or error passed through |
// | `parse`   | payload a decimal integer: reply its double; else err("not a number: ...")   |
// | `crash`   | `std::abort()`: a trap, and the supervisor restarts the component            |
//
// Anything else is err("unknown topic: ...").
//
// The handler works on std::string_view and std::string; `Reply` below turns its outcome
// into what the C bindings want (malloc'ed bytes, freed by their post-return).

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "component.h"

namespace {

// Module state lives as long as the component instance: a restart starts it afresh.
std::uint64_t count = 0;

struct Ok {
    std::string bytes;
};
struct Err {
    std::string message;
};
using Reply = std::variant<Ok, Err>;

std::string_view view(const uint8_t *ptr, size_t len) {
    return {reinterpret_cast<const char *>(ptr), len};
}

// A borrowed WIT string over a view (the import reads it, does not keep it).
component_string_t borrowed(std::string_view text) {
    return {reinterpret_cast<uint8_t *>(const_cast<char *>(text.data())), text.size()};
}

// Takes a WIT string the bindings allocated.
std::string taken(component_string_t *text) {
    std::string copy(view(text->ptr, text->len));
    component_string_free(text);
    return copy;
}

// The payload as text for an error message, which must be UTF-8: bytes outside printable
// ASCII become `?` (a caller's bad bytes must not turn a handled error into a trap).
std::string printable(std::string_view bytes) {
    std::string text(bytes);
    for (char &c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte >= 0x7f) c = '?';
    }
    return text;
}

uint8_t *copied(const std::string &text) {
    if (text.empty()) return nullptr;
    auto *ptr = static_cast<uint8_t *>(std::malloc(text.size()));
    if (ptr == nullptr) std::abort();
    std::memcpy(ptr, text.data(), text.size());
    return ptr;
}

std::optional<std::string> config(std::string_view key) {
    component_string_t wit_key = borrowed(key), value;
    if (!airssys_component_config_get(&wit_key, &value)) return std::nullopt;
    return taken(&value);
}

Reply request(std::string_view target, std::string_view topic, std::string_view body) {
    component_string_t wit_target = borrowed(target), wit_topic = borrowed(topic), error;
    component_list_u8_t wit_body{reinterpret_cast<uint8_t *>(const_cast<char *>(body.data())),
                                 body.size()};
    component_list_u8_t answer;
    if (!airssys_component_messaging_request(&wit_target, &wit_topic, &wit_body, &answer,
                                             &error)) {
        return Err{taken(&error)};
    }
    std::string bytes(view(answer.ptr, answer.len));
    component_list_u8_free(&answer);
    return Ok{std::move(bytes)};
}

Reply handle(std::string_view topic, std::string_view payload) {
    if (topic == "count") {
        return Ok{std::to_string(++count)};
    }
    if (topic == "greet") {
        auto greeting = config("greeting");
        if (!greeting) return Err{"no greeting configured"};
        return Ok{*greeting + ", " + std::string(payload)};
    }
    if (topic == "log") {
        component_string_t line = borrowed(payload);
        airssys_component_logging_log(AIRSSYS_COMPONENT_LOGGING_LEVEL_INFO, &line);
        return Ok{"logged"};
    }
    if (topic == "request") {
        // `TARGET TOPIC BODY...`, split at the first two spaces; the body may be empty.
        auto first = payload.find(' ');
        auto second = first == std::string_view::npos ? first : payload.find(' ', first + 1);
        auto target = payload.substr(0, first);
        auto rest = first == std::string_view::npos ? std::string_view{} : payload.substr(first + 1);
        auto target_topic = rest.substr(0, second == std::string_view::npos ? rest.size() : second - first - 1);
        auto body = second == std::string_view::npos ? std::string_view{} : payload.substr(second + 1);
        if (target.empty() || target_topic.empty()) {
            return Err{"expected \"TARGET TOPIC [BODY]\", got \"" + printable(payload) + "\""};
        }
        return request(target, target_topic, body);
    }
    if (topic == "parse") {
        std::int64_t n = 0;
        auto [end, error] = std::from_chars(payload.data(), payload.data() + payload.size(), n);
        bool whole = !payload.empty() && error == std::errc{} && end == payload.data() + payload.size();
        if (!whole || n > INT64_MAX / 2 || n < INT64_MIN / 2) {
            return Err{"not a number: \"" + printable(payload) + "\""};
        }
        return Ok{std::to_string(2 * n)};
    }
    if (topic == "crash") {
        std::abort();
    }
    return Err{"unknown topic: " + std::string(topic)};
}

}  // namespace

extern "C" bool exports_airssys_component_handler_handle(
    exports_airssys_component_handler_message_t *msg, component_list_u8_t *ret,
    component_string_t *err) {
    Reply reply = handle(view(msg->topic.ptr, msg->topic.len),
                         view(msg->payload.ptr, msg->payload.len));
    airssys_component_types_message_free(msg);
    if (auto *ok = std::get_if<Ok>(&reply)) {
        *ret = {copied(ok->bytes), ok->bytes.size()};
        return true;
    }
    auto &message = std::get<Err>(reply).message;
    *err = {copied(message), message.size()};
    return false;
}
