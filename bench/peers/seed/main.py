# Copyright (c) 2026 The chat authors.
#
# The seed: the FastAPI chat server this project grew from, for
# comparison.  /demo/ws/{user_id} registers the connection as user_id (a
# newer connection replaces an older one, and a disconnect forgets the
# id whichever connection held it, as in the seed); a text message
# {"message": M, "target_user": T} goes to T's connection, if any, as
# {"message": M, "from_user": user_id}, else it is dropped.  Plus
# /demo/echo, which sends every message back, for the echo scenario.
# Run by bench/peers/seed/run with uvicorn from Debian's packages.

import json

from fastapi import APIRouter, FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()
router = APIRouter(prefix="/demo")
users = {}


@router.websocket("/ws/{user_id}")
async def chat(websocket: WebSocket, user_id: str):
    await websocket.accept()
    users[user_id] = websocket
    try:
        while True:
            req = json.loads(await websocket.receive_text())
            target = users.get(req.get("target_user"))
            if target is not None:
                await target.send_text(json.dumps(
                    {"message": req.get("message"), "from_user": user_id}))
    except WebSocketDisconnect:
        users.pop(user_id, None)


@router.websocket("/echo")
async def echo(websocket: WebSocket):
    await websocket.accept()
    while True:
        msg = await websocket.receive()
        if msg["type"] == "websocket.disconnect":
            break
        if msg.get("text") is not None:
            await websocket.send_text(msg["text"])
        else:
            await websocket.send_bytes(msg["bytes"])


app.include_router(router)
