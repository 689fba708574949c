// Copyright (c) 2026 The chat authors.
//
// A uWebSockets peer, for comparison: the seed's protocol on
// /demo/ws/USER (a newer connection replaces an older one; a message to
// a user with no connection is dropped; JSON through jansson) and
// /demo/echo (every message back with its opcode).  No compression, no
// idle timeout, no backpressure limit: the same as the other peers.
// Built by bench/peers/uws/build; usage: uws-chat PORT (127.0.0.1).
#include <jansson.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_map>

#include "App.h"

namespace {

struct User {
	std::string id;
};
using ChatSocket = uWS::WebSocket<false, true, User>;
using Behavior = uWS::App::WebSocketBehavior<User>;
std::unordered_map<std::string, ChatSocket *> users;

int
hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

// The id as Node's decodeURIComponent and Starlette give it.
std::string
unescape(std::string_view s)
{
	std::string out;
	int h, l;

	for (size_t i = 0; i < s.size(); i++) {
		if (s[i] == '%' && i + 2 < s.size() &&
		    (h = hex(s[i + 1])) >= 0 && (l = hex(s[i + 2])) >= 0) {
			out.push_back((char)(h * 16 + l));
			i += 2;
		} else
			out.push_back(s[i]);
	}
	return out;
}

void
relay(ChatSocket *ws, std::string_view text)
{
	json_error_t	 err;
	json_t		*req, *out;
	const char	*target;
	char		*s;

	req = json_loadb(text.data(), text.size(), 0, &err);
	if (!json_is_object(req)) {
		json_decref(req);
		ws->end(1003);
		return;
	}
	target = json_string_value(json_object_get(req, "target_user"));
	auto it = target != nullptr ? users.find(target) : users.end();
	if (it != users.end()) {
		out = json_object();
		json_object_set(out, "message", json_object_get(req, "message")
		    != nullptr ? json_object_get(req, "message") : json_null());
		json_object_set_new(out, "from_user",
		    json_stringn(ws->getUserData()->id.data(),
		    ws->getUserData()->id.size()));
		if ((s = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER)) !=
		    nullptr) {
			it->second->send(s, uWS::OpCode::TEXT);
			free(s);
		}
		json_decref(out);
	}
	json_decref(req);
}

// What both endpoints share with the other peers: no compression, no
// idle timeout, no pings, no backpressure limit, 16 MiB messages.
Behavior
plain()
{
	Behavior	b;

	b.compression = uWS::DISABLED;
	b.maxPayloadLength = 16 << 20;
	b.idleTimeout = 0;
	b.maxBackpressure = 1u << 30;
	b.closeOnBackpressureLimit = false;
	b.resetIdleTimeoutOnSend = false;
	b.sendPingsAutomatically = false;
	return b;
}

} // namespace

int
main(int argc, char **argv)
{
	Behavior	chat = plain(), echo = plain();
	int		port = argc > 1 ? atoi(argv[1]) : 0;

	chat.upgrade = [](auto *res, auto *req, auto *ctx) {
		std::string_view path = req->getUrl();
		std::string id = unescape(path.substr(
		    std::string_view("/demo/ws/").size()));

		if (id.empty() || id.find('/') != std::string::npos) {
			res->writeStatus("404 Not Found")->end();
			return;
		}
		res->template upgrade<User>({ std::move(id) },
		    req->getHeader("sec-websocket-key"),
		    req->getHeader("sec-websocket-protocol"),
		    req->getHeader("sec-websocket-extensions"), ctx);
	};
	chat.open = [](auto *ws) {
		users[ws->getUserData()->id] = ws;
	};
	chat.message = [](auto *ws, std::string_view msg, uWS::OpCode op) {
		if (op != uWS::OpCode::TEXT)
			ws->end(1003);
		else
			relay(ws, msg);
	};
	chat.close = [](auto *ws, int, std::string_view) {
		auto it = users.find(ws->getUserData()->id);

		if (it != users.end() && it->second == ws)
			users.erase(it);
	};
	echo.message = [](auto *ws, std::string_view msg, uWS::OpCode op) {
		ws->send(msg, op);
	};
	uWS::App()
	    .ws<User>("/demo/ws/*", std::move(chat))
	    .ws<User>("/demo/echo", std::move(echo))
	    .listen("127.0.0.1", port, [port](auto *ls) {
		if (ls == nullptr) {
			fprintf(stderr, "uws-chat: cannot listen on "
			    "127.0.0.1:%d\n", port);
			exit(1);
		}
	    })
	    .run();
	return 0;
}
