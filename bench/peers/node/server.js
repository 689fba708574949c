// Copyright (c) 2026 The chat authors.
//
// A Node.js peer on the `ws` package (pinned by package-lock.json), for
// comparison: the seed's protocol on /demo/ws/USER (a newer connection
// replaces an older one; a message to a user with no connection is
// dropped) and /demo/echo.  Usage: node server.js PORT (127.0.0.1).
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
const users = new Map();
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false,
  maxPayload: 16 << 20 });
const server = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});

function chat(ws, id) {
  users.set(id, ws);
  ws.on('message', (data) => {
    let req;
    try {
      req = JSON.parse(data.toString());
    } catch (e) {
      ws.close(1003);
      return;
    }
    const target = users.get(req.target_user);
    if (target !== undefined)
      target.send(JSON.stringify({ message: req.message, from_user: id }));
  });
  ws.on('close', () => {
    if (users.get(id) === ws)
      users.delete(id);
  });
}

server.on('upgrade', (req, socket, head) => {
  const path = req.url.split('?')[0];
  if (path === '/demo/echo') {
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data, binary) => ws.send(data, { binary }));
    });
  } else if (path.startsWith('/demo/ws/') && path.length > 9) {
    const id = decodeURIComponent(path.slice(9));
    wss.handleUpgrade(req, socket, head, (ws) => chat(ws, id));
  } else {
    socket.destroy();
  }
});
server.listen(port, '127.0.0.1');
