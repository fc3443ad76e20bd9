"""The official MCP Python SDK against `kektordb --mcp` over stdio: connect,
list tools, call every tool, check each result (structured content against the
tool's outputSchema with jsonschema, the text block, the values), the prompt,
and protocol errors. Works with the 1.x SDK (camelCase models, 2025-03-26 or
2025-06-18 handshake) and the 2.x SDK (snake_case models; its `mode="auto"`
probe sends server/discover first and must fall back to initialize on -32601).

Environment: KEKTOR_TEST_BIN (the binary), KEKTOR_MODELS_DIR (the local model).
Prints one line per check and a summary; exits non-zero on any failure.
"""

import asyncio
import json
import os
import sys
import tempfile

import jsonschema
import mcp
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

try:
    from importlib.metadata import version as _version

    SDK = _version("mcp")
except Exception:  # pragma: no cover
    SDK = "?"

passed, failed = [], []


def check(name, cond, detail=""):
    (passed if cond else failed).append(name)
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"), flush=True)


def field(obj, snake, camel=None):
    """A model field by its 2.x (snake_case) or 1.x (camelCase) name."""
    for n in (snake, camel):
        if n and hasattr(obj, n):
            return getattr(obj, n)
    extra = getattr(obj, "model_extra", None) or {}
    return extra.get(camel or snake)


async def call(session, schemas, name, args):
    """Calls a tool; returns (is_error, structured or text)."""
    r = await session.call_tool(name, args)
    is_error = bool(field(r, "is_error", "isError"))
    text = r.content[0].text if r.content else ""
    if is_error:
        return True, text
    structured = field(r, "structured_content", "structuredContent")
    parsed = json.loads(text)
    if structured is not None:
        check(f"{name}: text block equals structuredContent", parsed == structured)
    data = structured if structured is not None else parsed
    try:
        jsonschema.validate(data, schemas[name])
        check(f"{name}: result matches outputSchema", True)
    except jsonschema.ValidationError as e:
        check(f"{name}: result matches outputSchema", False, e.message)
    return False, data


async def connect(session):
    major = int(SDK.split(".")[0]) if SDK[0].isdigit() else 1
    if major >= 2:
        from mcp.client._probe import negotiate_auto

        await negotiate_auto(session)  # server/discover -> -32601 -> initialize
        init = session.initialize_result
    else:
        init = await session.initialize()
    return init


async def main():
    models = os.environ.get("KEKTOR_MODELS_DIR", "models")
    data = tempfile.mkdtemp(prefix="kektor-mcp-sdk-")
    params = StdioServerParameters(
        command=os.environ["KEKTOR_TEST_BIN"],
        args=["--mcp", "-aof-path", data, "-shards", "2", "-no-pin", "-models-dir", models, "-embedder", "local"],
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await connect(session)
            version = field(init, "protocol_version", "protocolVersion")
            info = field(init, "server_info", "serverInfo")
            check("initialize: a handshake version", version in ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"), version)
            check("initialize: serverInfo.name", info.name == "kektordb", info)
            print(f"negotiated {version} with mcp {SDK}")

            listed = await session.list_tools()
            tools = {t.name: t for t in listed.tools}
            schemas = {}
            for t in listed.tools:
                inp = field(t, "input_schema", "inputSchema")
                out = field(t, "output_schema", "outputSchema")
                ann = field(t, "annotations")
                check(f"{t.name}: inputSchema closed", inp.get("additionalProperties") is False, inp)
                check(f"{t.name}: outputSchema", isinstance(out, dict) and out.get("type") == "object", out)
                ro = field(ann, "read_only_hint", "readOnlyHint") if ann is not None else None
                check(f"{t.name}: readOnlyHint", isinstance(ro, bool), ann)
                schemas[t.name] = out
            check("tools/list: 18 tools", len(tools) == 18, sorted(tools))

            prompts = await session.list_prompts()
            check("prompts/list", [p.name for p in prompts.prompts] == ["memory_instructions"], prompts)
            p = await session.get_prompt("memory_instructions")
            check("prompts/get", "save_memory" in p.messages[0].content.text)
            await session.send_ping()
            check("ping", True)

            c = lambda n, a: call(session, schemas, n, a)  # noqa: E731
            err, s = await c("start_session", {"session_id": "sdk-1", "user_id": "grace"})
            check("start_session", not err and s["status"] == "active", s)
            err, e = await c("create_entity", {"entity_id": "grace", "type": "person", "description": "compiler pioneer"})
            check("create_entity", not err and e["embedded"] is True, e)
            err, e = await c("create_entity", {"entity_id": "cobol", "type": "language", "description": "business language"})
            err, k = await c("connect_entities", {"source_id": "grace", "target_id": "cobol", "relation": "designed"})
            check("connect_entities", not err and k["status"] == "connected", k)
            facts = [
                "Grace prefers to get code reviews in the morning before standup",
                "The nightly build broke on March 3rd because the disk was full",
                "Grace's cat is called Nanosecond",
            ]
            ids = []
            for f in facts:
                err, r = await c("save_memory", {"content": f, "session_id": "sdk-1", "links": ["grace:about"], "tags": "sdk,test"})
                check("save_memory", not err and r["status"] == "saved", r)
                ids.append(r["memory_id"])
            err, r = await c("recall_memory", {"query": "what is the name of Grace's pet", "limit": 2})
            check("recall_memory: paraphrase found first", not err and r["memories"][0]["id"] == ids[2], r)
            check("recall_memory: upstream result lines", r["results"][0] == f"[{ids[2]}] {facts[2]}", r["results"])
            err, r = await c("scoped_recall", {"query": "why did the build fail", "root_id": "grace", "limit": 1})
            check("scoped_recall", not err and r["memories"][0]["id"] == ids[1], r)
            err, r = await c("search_with_scores", {"query": "morning code review", "k": 2})
            check("search_with_scores", not err and r["results"][0]["memory_id"] == ids[0], r)
            err, g = await c("get_memory", {"memory_id": ids[0]})
            check("get_memory", not err and g["found"] and g["metadata"]["user_id"] == "grace", g)
            err, r = await c("reinforce_memory", {"memory_ids": ids})
            check("reinforce_memory", not err and r["reinforced"] == 3, r)
            err, x = await c("explore_connections", {"root_id": "grace"})
            check("explore_connections", not err and "--(designed)--> cobol" in x["graph_description"], x)
            err, p = await c("find_connection", {"source_id": ids[2], "target_id": "cobol"})
            check("find_connection", not err and p["path"] == [ids[2], "grace", "cobol"], p)
            err, sg = await c("extract_subgraph", {"root_id": "grace", "depth": 1})
            check("extract_subgraph", not err and len(sg["nodes"]) == 5, sg)
            err, ix = await c("list_indexes", {})
            check("list_indexes", not err and ix["indexes"][0]["name"] == "mcp_memory", ix)
            err, st = await c("get_stats", {})
            check("get_stats", not err and st["count"] == 6 and st["dimension"] == 384, st)
            err, f = await c("filter_vectors", {"filter": "CONTAINS(content, 'cat')"})
            check("filter_vectors", not err and f["results"] == [ids[2]], f)
            err, lv = await c("list_vectors", {"limit": 4})
            check("list_vectors", not err and len(lv["vectors"]) == 4 and lv["has_more"] and lv["next_offset"] == 4, lv)
            err, en = await c("end_session", {"session_id": "sdk-1"})
            check("end_session", not err and en["memories"] == 3 and en["summary_id"], en)
            err, d = await c("delete_memory", {"memory_id": ids[1]})
            check("delete_memory", not err and d["deleted"] is True, d)
            err, msg = await c("end_session", {"session_id": "missing"})
            check("a failing tool is isError with a fix", err and "start_session" in msg, msg)
            try:
                await session.call_tool("get_memory", {"memory_id": "x", "nonsense": 1})
                check("unknown argument is -32602", False, "no error")
            except Exception as e:  # McpError (1.x) / MCPError (2.x)
                code = getattr(getattr(e, "error", None), "code", None)
                check("unknown argument is -32602", code == -32602, repr(e))
    print(f"mcp SDK {SDK}: {len(passed)} passed, {len(failed)} failed")
    if failed:
        print("failed: " + ", ".join(failed))
        sys.exit(1)


asyncio.run(main())
