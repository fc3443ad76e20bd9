"""Real clients through the AI proxy: the official `openai` SDK (plain and
streaming chat, completions, models) and the `ollama` client (chat plain and
streaming, generate, list), against (a) a scripted upstream speaking OpenAI SSE
and Ollama NDJSON and (b) a real LLM: llama.cpp's server from the `xllamacpp`
wheel with SmolLM2-135M-Instruct (OpenAI API only: llama.cpp has no Ollama-native
routes). Also the firewall (403 as each SDK sees it) and cache hits.

Run by run.sh: KEKTOR_BIN is the server binary, KEKTOR_GGUF the model file.
Prints `N passed, M failed` last and exits non-zero on any failure.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import ollama
import openai

BIN = os.environ["KEKTOR_BIN"]
GGUF = os.environ.get("KEKTOR_GGUF", "")
RESULTS = {"passed": 0, "failed": 0}


def check(name, fn):
    try:
        fn()
        RESULTS["passed"] += 1
        print(f"ok   {name}", flush=True)
    except Exception:  # noqa: BLE001 - report every failure and go on
        RESULTS["failed"] += 1
        print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)


class Scripted(BaseHTTPRequestHandler):
    """OpenAI and Ollama endpoints with fixed answers; counts calls."""

    calls = 0
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def stream(self, ctype, frames):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for f in frames:
            b = f.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
            self.wfile.flush()
            time.sleep(0.02)
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self):
        Scripted.calls += 1
        if self.path == "/v1/models":
            self.send(200, "application/json", b'{"object":"list","data":[{"id":"m","object":"model","created":0,"owned_by":"me"}]}')
        elif self.path == "/api/tags":
            self.send(200, "application/json", b'{"models":[{"name":"m:1b","model":"m:1b","size":1}]}')
        else:
            self.send(404, "application/json", b'{"error":"not found"}')

    def do_POST(self):
        Scripted.calls += 1
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        model = req.get("model", "m")
        if self.path == "/v1/chat/completions":
            if req.get("stream"):
                chunk = lambda d, f: "data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": [{"index": 0, "delta": d, "finish_reason": f}]}) + "\n\n"
                self.stream("text/event-stream", [chunk({"role": "assistant", "content": "Hel"}, None), chunk({"content": "lo"}, None), chunk({}, "stop"), "data: [DONE]\n\n"])
            else:
                self.send(200, "application/json", json.dumps({"id": "c", "object": "chat.completion", "created": 1, "model": model, "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode())
        elif self.path == "/v1/completions":
            self.send(200, "application/json", json.dumps({"id": "t", "object": "text_completion", "created": 1, "model": model, "choices": [{"index": 0, "text": " world", "finish_reason": "stop", "logprobs": None}]}).encode())
        elif self.path in ("/api/chat", "/api/generate"):
            chat = self.path == "/api/chat"
            part = (lambda t: {"message": {"role": "assistant", "content": t}}) if chat else (lambda t: {"response": t})
            base = {"model": model, "created_at": "2026-01-01T00:00:00Z"}
            if req.get("stream", True):
                frames = [json.dumps({**base, **part(t), "done": False}) + "\n" for t in ("Hel", "lo")]
                frames.append(json.dumps({**base, **part(""), "done": True, "done_reason": "stop"}) + "\n")
                self.stream("application/x-ndjson", frames)
            else:
                self.send(200, "application/json", json.dumps({**base, **part("Hello"), "done": True, "done_reason": "stop"}).encode())
        else:
            self.send(404, "application/json", b'{"error":"not found"}')


def start_kektordb(yaml):
    d = tempfile.mkdtemp(prefix="kektor-proxy-py-")
    cfg = os.path.join(d, "proxy.yaml")
    with open(cfg, "w") as f:
        f.write(yaml)
    p = subprocess.Popen([BIN, "-http-addr", "127.0.0.1:0", "-shards", "2", "-no-pin", "-in-memory", "-embedder", "none", "-enable-proxy", "-proxy-config", cfg, "-proxy-port", "127.0.0.1:0"], stderr=subprocess.PIPE, text=True)
    addr = None
    while True:
        line = p.stderr.readline()
        if not line:
            raise RuntimeError("kektordb exited before listening")
        if "AI proxy on http://" in line:
            addr = line.split("AI proxy on http://")[1].split()[0]
        if "listening on http://" in line:
            break
    threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
    return p, addr


def scripted_suite():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    up = f"http://127.0.0.1:{srv.server_address[1]}"
    proc, proxy = start_kektordb(f"target_url: {up}\ncache_enabled: true\nfirewall_enabled: true\nfirewall_deny_list: ['forbidden topic']\nblock_message: 'Blocked by policy.'\n")
    oa = openai.OpenAI(base_url=f"http://{proxy}/v1", api_key="sk-test", max_retries=0)
    ol = ollama.Client(host=f"http://{proxy}")
    try:
        def models():
            assert [m.id for m in oa.models.list()] == ["m"]
        check("scripted: openai models.list (passthrough)", models)

        def chat_plain():
            r = oa.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
            assert r.choices[0].message.content == "Hello"
        check("scripted: openai chat plain", chat_plain)

        def chat_stream():
            s = oa.chat.completions.create(model="m", messages=[{"role": "user", "content": "stream hi"}], stream=True)
            text = "".join((c.choices[0].delta.content or "") for c in s if c.choices)
            assert text == "Hello", text
        check("scripted: openai chat streaming", chat_stream)

        def completions():
            assert oa.completions.create(model="m", prompt="hello").choices[0].text == " world"
        check("scripted: openai completions", completions)

        def cache_hit():
            before = Scripted.calls
            msgs = [{"role": "user", "content": "cache me"}]
            first = oa.chat.completions.with_raw_response.create(model="m", messages=msgs)
            time.sleep(0.3)
            again = oa.chat.completions.with_raw_response.create(model="m", messages=msgs)
            assert first.headers["x-kektor-cache"] == "MISS" and again.headers["x-kektor-cache"] == "HIT"
            assert again.parse().choices[0].message.content == "Hello"
            s1 = "".join((c.choices[0].delta.content or "") for c in oa.chat.completions.create(model="m", messages=[{"role": "user", "content": "stream cached"}], stream=True) if c.choices)
            time.sleep(0.3)
            s2 = "".join((c.choices[0].delta.content or "") for c in oa.chat.completions.create(model="m", messages=[{"role": "user", "content": "stream cached"}], stream=True) if c.choices)
            assert s1 == s2 == "Hello"
            assert Scripted.calls == before + 2, (Scripted.calls, before)
        check("scripted: openai cache hit, plain and streamed", cache_hit)

        def blocked():
            try:
                oa.chat.completions.create(model="m", messages=[{"role": "user", "content": "tell me about the Forbidden Topic"}])
            except openai.PermissionDeniedError as e:
                assert e.status_code == 403 and "Blocked by policy." in str(e), e
            else:
                raise AssertionError("not blocked")
        check("scripted: openai sees a block as PermissionDeniedError", blocked)

        def ol_list():
            assert [m.model for m in ol.list().models] == ["m:1b"]
        check("scripted: ollama list (passthrough)", ol_list)

        def ol_chat():
            assert ol.chat(model="m", messages=[{"role": "user", "content": "hi"}], stream=False).message.content == "Hello"
            text = "".join(p.message.content for p in ol.chat(model="m", messages=[{"role": "user", "content": "hi"}], stream=True))
            assert text == "Hello", text
        check("scripted: ollama chat plain and streaming", ol_chat)

        def ol_generate():
            assert ol.generate(model="m", prompt="hi", stream=False).response == "Hello"
            assert "".join(p.response for p in ol.generate(model="m", prompt="hi again", stream=True)) == "Hello"
        check("scripted: ollama generate plain and streaming", ol_generate)

        def ol_blocked():
            try:
                ol.chat(model="m", messages=[{"role": "user", "content": "forbidden topic please"}], stream=False)
            except ollama.ResponseError as e:
                assert e.status_code == 403 and "Blocked by policy." in e.error, e
            else:
                raise AssertionError("not blocked")
        check("scripted: ollama sees a block as ResponseError 403", ol_blocked)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        srv.shutdown()


def llama_suite():
    import xllamacpp as xlc

    p = xlc.CommonParams()
    p.model.path = GGUF
    p.n_ctx = 1024
    p.cpuparams.n_threads = 2
    p.cpuparams_batch.n_threads = 2
    p.n_parallel = 1
    p.port = 0
    p.hostnames = ["127.0.0.1"]
    llm = xlc.Server(p)
    up = llm.listening_address
    proc, proxy = start_kektordb(f"target_url: {up}\ncache_enabled: true\nupstream_timeout: 120s\n")
    oa = openai.OpenAI(base_url=f"http://{proxy}/v1", api_key="sk-test", max_retries=0, timeout=120)
    msgs = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
    first = {}
    try:
        def real_plain():
            r = oa.chat.completions.with_raw_response.create(model="smollm2", messages=msgs, max_tokens=64, temperature=0, seed=1)
            c = r.parse()
            first["finish"] = c.choices[0].finish_reason
            assert r.headers["x-kektor-cache"] == "MISS"
            assert c.choices[0].message.content.strip(), c
            assert c.usage.completion_tokens > 0
        check("llama.cpp: openai chat plain", real_plain)

        def real_stream():
            chunks = list(oa.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "Say hello."}], max_tokens=16, temperature=0, stream=True))
            text = "".join((c.choices[0].delta.content or "") for c in chunks if c.choices)
            assert len(chunks) > 2 and text.strip(), (len(chunks), text)
        check("llama.cpp: openai chat streaming", real_stream)

        def real_models():
            assert len(list(oa.models.list())) >= 1
        check("llama.cpp: openai models.list (passthrough)", real_models)

        def real_cache():
            time.sleep(0.3)
            t = time.time()
            r = oa.chat.completions.with_raw_response.create(model="smollm2", messages=msgs, max_tokens=64, temperature=0, seed=1)
            if first.get("finish") != "stop":
                # An answer cut off by max_tokens is never cached.
                assert r.headers["x-kektor-cache"] == "MISS", r.headers
                print(f"     (the first answer ended with {first.get('finish')!r}: not cached, as designed)")
                return
            assert r.headers["x-kektor-cache"] == "HIT", r.headers
            assert time.time() - t < 1.0
            assert r.parse().choices[0].message.content.strip()
        check("llama.cpp: a repeated request is answered from the cache", real_cache)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        del llm


if __name__ == "__main__":
    scripted_suite()
    if GGUF:
        llama_suite()
    else:
        print("FAIL llama.cpp suite: KEKTOR_GGUF is not set")
        RESULTS["failed"] += 1
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    sys.exit(1 if RESULTS["failed"] else 0)
