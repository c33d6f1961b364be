"""The benchmark's baseline: the same server stack that only verifies the LINE signature and answers 200."""

from __future__ import annotations

import os

from fastapi import FastAPI, Request, Response
from linebot.v3.webhook import SignatureValidator

app = FastAPI()
_validator = SignatureValidator(os.environ.get("KOE_LINE_YOUTH_CHANNEL_SECRET", "dev-youth-channel-secret"))


@app.post("/line/webhook/{desk}")
async def verify_only(desk: str, request: Request) -> Response:
    body = await request.body()
    if not _validator.validate(body.decode("utf-8"), request.headers.get("x-line-signature", "")):
        return Response(status_code=400)
    return Response(status_code=200, content=b"{}", media_type="application/json")
