"""The admin API as brand staff and their tools use it, against the real knowledge library."""

from __future__ import annotations

import io
import os
import stat
import uuid
from typing import Any

import pytest
from aiohttp import FormData

from assistant.admin.auth import local_token
from tests.admin.support import (
    BRAND_B,
    EDITOR_NAME,
    MAX_UPLOAD_BYTES,
    AdminStack,
    editor,
    viewer,
)

Client = Any


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


def faq(fid: str, question: str, answer: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "faq",
        "id": fid,
        "category": "shipping",
        "question_zh": question,
        "answer_zh": answer,
        **extra,
    }


async def search_ids(client: Client, kb: str, query: str, k: int = 5) -> list[str]:
    response = await client.post(
        f"/api/admin/kbs/{kb}/search", json={"query": query, "k": k}, headers=viewer()
    )
    assert response.status == 200, await response.text()
    return [h["id"] for h in (await response.json())["hits"]]


# --------------------------------------------------------------------------- tokens


async def test_no_token_or_an_unknown_token_is_refused_with_401(client: Client) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer not-a-real-token-at-all"},
        {"Authorization": "x"},
    ):
        response = await client.get("/api/admin/kbs", headers=headers)
        assert response.status == 401
        body = await response.json()
        assert "token" in body["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # Writes too, and an unauthenticated upload is refused before it is read.
    response = await client.post("/api/admin/kbs/default/records", json=faq("X-1", "q", "a"))
    assert response.status == 401


async def test_a_viewer_reads_everything_but_may_not_write(client: Client) -> None:
    reads = [
        "/api/admin/me",
        "/api/admin/kbs",
        "/api/admin/kbs/default/records?kind=product&limit=3",
        "/api/admin/kbs/default/records/LY-CL-001",
        "/api/admin/kbs/default/status",
        "/api/admin/kbs/default/stats",
        "/api/admin/kbs/default/history?limit=2",
        "/api/admin/unanswered",
        "/api/admin/vocabulary",
    ]
    for path in reads:
        response = await client.get(path, headers=viewer())
        assert response.status == 200, (path, await response.text())
    me = await (await client.get("/api/admin/me", headers=viewer())).json()
    assert me["role"] == "viewer"

    writes = [
        ("POST", "/api/admin/kbs/default/records", faq("V-1", "观众能写吗?", "不能")),
        ("PUT", "/api/admin/kbs/default/records/LY-CL-001", {"price": 1}),
        ("PATCH", "/api/admin/kbs/default/records/LY-CL-001", {"price": 1}),
        ("DELETE", "/api/admin/kbs/default/records/LY-CL-001", None),
        ("POST", "/api/admin/kbs/default/sync", None),
        ("POST", "/api/admin/kbs/default/rollback", {"version": 1}),
        ("POST", "/api/admin/unanswered/1/faq", {"question_zh": "q", "answer_zh": "a"}),
        ("POST", "/api/admin/unanswered/1/dismiss", None),
    ]
    for method, path, body in writes:
        response = await client.request(method, path, json=body, headers=viewer())
        assert response.status == 403, (method, path, await response.text())
        assert "viewer" in (await response.json())["error"]
    form = FormData()
    form.add_field("file", b"id,question_zh\n", filename="faqs.csv")
    response = await client.post("/api/admin/kbs/default/upload", data=form, headers=viewer())
    assert response.status == 403
    record = await (
        await client.get("/api/admin/kbs/default/records/LY-CL-001", headers=viewer())
    ).json()
    assert record["record"]["price"] != 1


async def test_the_local_token_is_made_once_privately_and_acts_as_local(
    stack: AdminStack, client: Client
) -> None:
    token = local_token(stack.settings)
    path = stack.settings.data_dir / "admin-token"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert local_token(stack.settings) == token  # reused, not regenerated
    assert len(token) >= 32
    me = await (
        await client.get("/api/admin/me", headers={"Authorization": f"Bearer {token}"})
    ).json()
    assert (me["name"], me["role"]) == ("local", "editor")


# --------------------------------------------------------------------------- records


async def test_an_faq_goes_round_trip_create_find_edit_delete(client: Client) -> None:
    fid = new_id("FAQ-T")
    question = "可以把快递寄到南极科考站吗?"
    created = await client.post(
        "/api/admin/kbs/default/records",
        json=faq(
            fid, question, "南极科考站暂不支持配送。", question_en="Do you ship to Antarctica?"
        ),
        headers=editor(),
    )
    assert created.status == 201, await created.text()
    body = await created.json()
    assert body["added"] == [fid]
    assert body["actor"] == EDITOR_NAME
    assert body["records"][0]["source"] == "api"
    assert fid in await search_ids(client, "default", "南极能发货吗")

    # Found by the staff list search too, and readable.
    listed = await (
        await client.get(
            "/api/admin/kbs/default/records", params={"kind": "faq", "q": "南极"}, headers=viewer()
        )
    ).json()
    assert listed["records"][0]["id"] == fid

    edited = await client.put(
        f"/api/admin/kbs/default/records/{fid}?source=console",
        json={
            "category": "shipping",
            "question_zh": question,
            "answer_zh": "可以，南极科考站每年11月集中配送一次。",
        },
        headers=editor(),
    )
    assert edited.status == 200, await edited.text()
    assert (await edited.json())["updated"] == [fid]
    got = await (await client.get(f"/api/admin/kbs/default/records/{fid}", headers=viewer())).json()
    assert got["record"]["answer_zh"].startswith("可以，南极科考站")
    assert got["record"]["question_en"] == ""  # PUT replaces the whole record
    assert (got["source"], got["updated_by"]) == ("console", EDITOR_NAME)

    deleted = await client.delete(f"/api/admin/kbs/default/records/{fid}", headers=editor())
    assert deleted.status == 200
    assert (await deleted.json())["deleted"] == [fid]
    gone = await client.get(f"/api/admin/kbs/default/records/{fid}", headers=viewer())
    assert gone.status == 404
    assert fid in (await gone.json())["error"]
    assert fid not in await search_ids(client, "default", "南极能发货吗", k=10)
    again = await client.delete(f"/api/admin/kbs/default/records/{fid}", headers=editor())
    assert again.status == 404


async def test_patch_changes_only_the_fields_given(client: Client) -> None:
    before = await (
        await client.get("/api/admin/kbs/default/records/LY-TO-001", headers=viewer())
    ).json()
    response = await client.patch(
        "/api/admin/kbs/default/records/LY-TO-001", json={"stock": 7}, headers=editor()
    )
    assert response.status == 200, await response.text()
    after = (await response.json())["records"][0]["record"]
    assert after["stock"] == 7
    assert after["name_zh"] == before["record"]["name_zh"]
    assert after["key_actives"] == before["record"]["key_actives"]


async def test_records_without_an_id_get_one_and_lists_of_records_are_accepted(
    client: Client,
) -> None:
    response = await client.post(
        "/api/admin/kbs/default/records",
        json=[
            {
                "kind": "faq",
                "category": "payment",
                "question_zh": "能用数字人民币吗?",
                "answer_zh": "可以。",
            },
            {
                "kind": "faq",
                "category": "payment",
                "question_en": "Apple Pay?",
                "answer_en": "Yes.",
            },
        ],
        headers=editor(),
    )
    assert response.status == 201, await response.text()
    ids = (await response.json())["added"]
    assert len(ids) == 2 and all(i.startswith("FAQ-") for i in ids)
    for rid in ids:
        await client.delete(f"/api/admin/kbs/default/records/{rid}", headers=editor())


async def test_invalid_records_are_refused_with_the_field_and_nothing_is_saved(
    client: Client,
) -> None:
    good, bad = new_id("FAQ-T"), new_id("P-T")
    response = await client.post(
        "/api/admin/kbs/default/records",
        json=[
            faq(good, "这条是好的", "好"),
            {
                "kind": "product",
                "id": bad,
                "name_zh": "坏商品",
                "category": "cleanser",
                "price": "便宜",
            },
        ],
        headers=editor(),
    )
    assert response.status == 422
    body = await response.json()
    assert "nothing was saved" in body["error"]
    assert {"field": "price", "index": 1, "record_id": bad}.items() <= body["fields"][0].items()
    assert body["problems"][0]["field"] == "price"
    assert "Traceback" not in await response.text()
    for rid in (good, bad):
        missing = await client.get(f"/api/admin/kbs/default/records/{rid}", headers=viewer())
        assert missing.status == 404

    # An edit that breaks a record leaves the record as it was.
    broken = await client.patch(
        "/api/admin/kbs/default/records/LY-CL-001",
        json={"price": -5, "category": "shoes"},
        headers=editor(),
    )
    assert broken.status == 422
    fields = {f["field"] for f in (await broken.json())["fields"]}
    assert fields == {"price", "category"}
    kept = await (
        await client.get("/api/admin/kbs/default/records/LY-CL-001", headers=viewer())
    ).json()
    assert kept["record"]["price"] > 0 and kept["record"]["category"] == "cleanser"

    # The request itself: not JSON, unknown kind, an id that differs from the URL.
    not_json = await client.post("/api/admin/kbs/default/records", data=b"{oops", headers=editor())
    assert not_json.status == 400
    unknown = await client.post(
        "/api/admin/kbs/default/records", json={"kind": "coupon", "id": "C-1"}, headers=editor()
    )
    assert unknown.status == 422
    assert (await unknown.json())["fields"][0]["field"] == "kind"
    renamed = await client.put(
        "/api/admin/kbs/default/records/LY-CL-001",
        json={"id": "LY-CL-999", "kind": "product"},
        headers=editor(),
    )
    assert renamed.status == 422
    assert (await renamed.json())["fields"][0]["field"] == "id"


async def test_adding_an_id_that_exists_is_a_conflict_unless_replacing(client: Client) -> None:
    fid = new_id("FAQ-T")
    first = await client.post(
        "/api/admin/kbs/default/records", json=faq(fid, "重复吗", "第一次"), headers=editor()
    )
    assert first.status == 201
    second = await client.post(
        "/api/admin/kbs/default/records", json=faq(fid, "重复吗", "第二次"), headers=editor()
    )
    assert second.status == 409
    assert (await second.json())["ids"] == [fid]
    replaced = await client.post(
        "/api/admin/kbs/default/records?replace=true",
        json=faq(fid, "重复吗", "第二次"),
        headers=editor(),
    )
    assert replaced.status == 201
    assert (await replaced.json())["records"][0]["record"]["answer_zh"] == "第二次"
    await client.delete(f"/api/admin/kbs/default/records/{fid}", headers=editor())


async def test_unknown_knowledge_bases_records_and_queries_are_clear_errors(
    client: Client,
) -> None:
    response = await client.get("/api/admin/kbs/nope/records", headers=viewer())
    assert response.status == 404
    assert "nope" in (await response.json())["error"]
    response = await client.get("/api/admin/kbs/default/records/NOPE-1", headers=viewer())
    assert response.status == 404
    response = await client.get("/api/admin/kbs/default/records?limit=0", headers=viewer())
    assert response.status == 422
    assert (await response.json())["fields"][0]["field"] == "limit"
    response = await client.post(
        "/api/admin/kbs/default/search",
        json={"query": "洗面奶", "filters": {"no_such_filter": 1}},
        headers=viewer(),
    )
    assert response.status == 422


async def test_the_record_list_pages_and_searches(client: Client) -> None:
    page = await (
        await client.get(
            "/api/admin/kbs/default/records",
            params={"kind": "product", "limit": 5, "offset": 5},
            headers=viewer(),
        )
    ).json()
    assert page["total"] >= 50 and len(page["records"]) == 5
    assert all(r["kind"] == "product" for r in page["records"])
    ids = [r["id"] for r in page["records"]]
    assert ids == sorted(ids)
    found = await (
        await client.get(
            "/api/admin/kbs/default/records",
            params={"kind": "product", "q": "洗面奶", "limit": 5},
            headers=viewer(),
        )
    ).json()
    categories = [r["record"]["category"] for r in found["records"]]
    assert categories[:3] == ["cleanser"] * 3, categories
    by_id = await (
        await client.get(
            "/api/admin/kbs/default/records", params={"q": "ly-cl-001"}, headers=viewer()
        )
    ).json()
    assert by_id["records"][0]["id"] == "LY-CL-001"


# --------------------------------------------------------------------------- files


def csv_upload(name: str, text: str) -> FormData:
    form = FormData()
    form.add_field("file", io.BytesIO(text.encode("utf-8")), filename=name)
    return form


async def test_an_uploaded_csv_and_yaml_become_records_with_a_version(client: Client) -> None:
    csv_text = (
        "id,name_zh,name_en,category,price,skin_types\n"
        "BB-UP-001,薄荷控油爽肤水,Mint Toner,toner,59,oily\n"
        "BB-UP-002,玫瑰保湿精华,Rose Serum,serum,159,dry\n"
    )
    response = await client.post(
        f"/api/admin/kbs/{BRAND_B}/upload",
        data=csv_upload("products.csv", csv_text),
        headers=editor(),
    )
    assert response.status == 201, await response.text()
    body = await response.json()
    (uploaded,) = body["files"]
    assert uploaded["name"] == "products.csv"
    assert sorted(uploaded["change"]["added"]) == ["BB-UP-001", "BB-UP-002"]
    version = uploaded["change"]["version"]
    assert (body["version"], sorted(body["added"]), body["actor"]) == (
        version,
        ["BB-UP-001", "BB-UP-002"],
        EDITOR_NAME,
    )

    record = await (
        await client.get(f"/api/admin/kbs/{BRAND_B}/records/BB-UP-001", headers=viewer())
    ).json()
    assert record["record"]["price"] == 59
    assert record["source"] == "upload:products.csv"
    history = await (await client.get(f"/api/admin/kbs/{BRAND_B}/history", headers=viewer())).json()
    newest = history["versions"][0]
    assert (newest["version"], newest["action"], newest["actor"]) == (
        version,
        "ingest",
        EDITOR_NAME,
    )
    assert "BB-UP-001" in await search_ids(client, BRAND_B, "控油爽肤水")

    yaml_text = (
        "kind: faq\nrecords:\n"
        "  - id: BB-UP-FAQ-1\n    category: returns\n"
        "    question_zh: 拆封后还能退吗?\n    answer_zh: 未使用可7天内退。\n"
    )
    form = FormData()
    form.add_field("file", yaml_text.encode("utf-8"), filename="常见问题.yaml")
    form.add_field(
        "file",
        b"id,question_en,answer_en,category\nBB-UP-FAQ-2,Gift wrap?,Yes: free,gifts\n",
        filename="faqs.csv",
    )
    response = await client.post(f"/api/admin/kbs/{BRAND_B}/upload", data=form, headers=editor())
    assert response.status == 201, await response.text()
    body = await response.json()
    assert [f["name"] for f in body["files"]] == ["常见问题.yaml", "faqs.csv"]
    assert sorted(body["added"]) == ["BB-UP-FAQ-1", "BB-UP-FAQ-2"]
    assert body["version"] == body["files"][1]["change"]["version"] > version
    faq_record = await client.get(f"/api/admin/kbs/{BRAND_B}/records/BB-UP-FAQ-1", headers=viewer())
    assert faq_record.status == 200


async def test_a_bad_upload_names_file_line_and_field_and_writes_nothing(client: Client) -> None:
    csv_text = (
        "id,name_zh,category,price\nBB-BAD-001,好的一行,toner,10\nBB-BAD-002,坏的一行,toner,abc\n"
    )
    response = await client.post(
        f"/api/admin/kbs/{BRAND_B}/upload",
        data=csv_upload("../../etc/products.csv", csv_text),
        headers=editor(),
    )
    assert response.status == 422
    body = await response.json()
    problem = body["problems"][0]
    assert problem["file"] == "products.csv"  # the upload's name, no server path
    assert (problem["line"], problem["field"], problem["record_id"]) == (3, "price", "BB-BAD-002")
    assert "siyu-upload" not in await response.text()
    missing = await client.get(f"/api/admin/kbs/{BRAND_B}/records/BB-BAD-001", headers=viewer())
    assert missing.status == 404

    unknown_type = await client.post(
        f"/api/admin/kbs/{BRAND_B}/upload", data=csv_upload("notes.docx", "x"), headers=editor()
    )
    assert unknown_type.status == 422
    assert "unsupported file type" in (await unknown_type.json())["problems"][0]["message"]

    empty = await client.post(
        f"/api/admin/kbs/{BRAND_B}/upload", data={"comment": "no file"}, headers=editor()
    )
    assert empty.status in (400, 422)


async def test_uploads_and_bodies_over_the_size_limit_are_refused_with_413(
    client: Client,
) -> None:
    big = "id,name_zh,category,price\n" + "BB-BIG,很大的文件,toner,1\n" * (MAX_UPLOAD_BYTES // 20)
    response = await client.post(
        f"/api/admin/kbs/{BRAND_B}/upload", data=csv_upload("products.csv", big), headers=editor()
    )
    assert response.status == 413
    assert str(MAX_UPLOAD_BYTES) in (await response.json())["error"]

    huge_json = b"[" + b'{"kind": "faq"},' * 100_000 + b"{}]"
    response = await client.post(
        "/api/admin/kbs/default/records",
        data=huge_json,
        headers={**editor(), "Content-Type": "application/json"},
    )
    assert response.status == 413


async def test_rollback_brings_back_what_a_version_held(client: Client) -> None:
    fid = new_id("FAQ-T")
    created = await client.post(
        f"/api/admin/kbs/{BRAND_B}/records",
        json=faq(fid, "回滚测试问题", "第一版"),
        headers=editor(),
    )
    first_version = (await created.json())["version"]
    await client.patch(
        f"/api/admin/kbs/{BRAND_B}/records/{fid}", json={"answer_zh": "第二版"}, headers=editor()
    )
    response = await client.post(
        f"/api/admin/kbs/{BRAND_B}/rollback", json={"version": first_version}, headers=editor()
    )
    assert response.status == 200, await response.text()
    change = await response.json()
    assert change["action"] == "rollback" and fid in change["updated"]
    record = await (
        await client.get(f"/api/admin/kbs/{BRAND_B}/records/{fid}", headers=viewer())
    ).json()
    assert record["record"]["answer_zh"] == "第一版"

    # Rolling back to before it existed removes it.
    response = await client.post(
        f"/api/admin/kbs/{BRAND_B}/rollback",
        json={"version": first_version - 1},
        headers=editor(),
    )
    assert response.status == 200
    assert fid in (await response.json())["deleted"]

    unknown = await client.post(
        f"/api/admin/kbs/{BRAND_B}/rollback", json={"version": 99_999}, headers=editor()
    )
    assert unknown.status == 404
    assert "99999" in (await unknown.json())["error"]
    invalid = await client.post(
        f"/api/admin/kbs/{BRAND_B}/rollback", json={"version": "latest"}, headers=editor()
    )
    assert invalid.status == 422


async def test_a_failed_sync_keeps_the_knowledge_and_reports_file_line_and_field(
    stack: AdminStack, client: Client
) -> None:
    broken = stack.write_brand_b(
        "broken.yaml",
        "product",
        [{"id": "BB-BROKEN-1", "name_zh": "坏记录", "category": "cleanser", "price": "free"}],
    )
    try:
        response = await client.post(f"/api/admin/kbs/{BRAND_B}/sync", headers=editor())
        assert response.status == 422
        problem = (await response.json())["problems"][0]
        assert problem["file"].endswith("broken.yaml")
        assert problem["field"] == "price" and problem["line"] is not None

        status = await (
            await client.get(f"/api/admin/kbs/{BRAND_B}/status", headers=viewer())
        ).json()
        assert status["ok"] is False
        assert status["actor"] == EDITOR_NAME
        (kept,) = status["errors"]
        assert kept["file"].endswith("broken.yaml") and kept["field"] == "price"
        assert kept["line"] == problem["line"] and kept["message"]
        still = await client.get(f"/api/admin/kbs/{BRAND_B}/records/BB-CL-001", headers=viewer())
        assert still.status == 200
    finally:
        broken.unlink()
    response = await client.post(f"/api/admin/kbs/{BRAND_B}/sync", headers=editor())
    assert response.status == 200, await response.text()
    status = await (await client.get(f"/api/admin/kbs/{BRAND_B}/status", headers=viewer())).json()
    assert status["ok"] is True and status["errors"] == []


async def test_the_knowledge_base_list_and_stats_show_counts(client: Client) -> None:
    kbs = await (await client.get("/api/admin/kbs", headers=viewer())).json()
    by_name = {kb["name"]: kb for kb in kbs["kbs"]}
    assert set(by_name) == {"default", BRAND_B}
    assert by_name["default"]["default"] is True
    assert by_name["default"]["by_kind"]["product"] >= 50
    assert by_name["default"]["version"] >= 1
    stats = await (await client.get("/api/admin/kbs/default/stats", headers=viewer())).json()
    assert stats["records"] == by_name["default"]["records"]
    assert stats["dimension"] > 0


# --------------------------------------------------------------------------- unanswered


async def test_an_unanswered_question_becomes_an_faq_the_assistant_answers(
    stack: AdminStack, client: Client
) -> None:
    services = stack.services
    text = "你们的快递能寄到南极长城站吗?"
    assert not services.advisor_for("web:g1:u1").answer(text, "zh").known
    best = services.library.search("default", text, 1)[0]
    qid = services.unanswered.record(
        "default", "web:g1:u1", text, "zh", "low_score", best.similarity, best.id
    )

    listed = await (await client.get("/api/admin/unanswered", headers=viewer())).json()
    item = next(i for i in listed["items"] if i["id"] == qid)
    assert item["text"] == text and item["status"] == "open"
    assert item["draft"]["question_zh"] == text
    assert item["draft"]["draft_from"] == best.id
    assert listed["counts"]["open"] >= 1

    draft = item["draft"]
    response = await client.post(
        f"/api/admin/unanswered/{qid}/faq",
        json={
            "category": "shipping",
            "question_zh": draft["question_zh"],
            "answer_zh": "南极长城站暂不支持配送，敬请谅解。",
        },
        headers=editor(),
    )
    assert response.status == 201, await response.text()
    body = await response.json()
    faq_id = body["faq"]["id"]
    assert body["question"]["status"] == "resolved"
    assert body["question"]["faq_id"] == faq_id
    assert body["faq"]["source"] == "console"
    answer = services.advisor_for("web:g1:u1").answer(text, "zh")
    assert answer.known and "南极长城站暂不支持配送" in answer.text

    again = await client.post(
        f"/api/admin/unanswered/{qid}/faq",
        json={"question_zh": text, "answer_zh": "又一次"},
        headers=editor(),
    )
    assert again.status == 409
    open_now = await (await client.get("/api/admin/unanswered", headers=viewer())).json()
    assert qid not in [i["id"] for i in open_now["items"]]
    await client.delete(f"/api/admin/kbs/default/records/{faq_id}", headers=editor())


async def test_an_faq_from_a_question_is_validated_and_questions_can_be_dismissed(
    stack: AdminStack, client: Client
) -> None:
    qid = stack.services.unanswered.record(
        BRAND_B, "web:g2:u9", "Do you sell gift cards?", "en", "fallback"
    )
    item = await (await client.get(f"/api/admin/unanswered/{qid}", headers=viewer())).json()
    assert item["kb"] == BRAND_B and item["draft"]["question_en"] == "Do you sell gift cards?"
    response = await client.post(
        f"/api/admin/unanswered/{qid}/faq",
        json={"question_en": "Do you sell gift cards?", "category": "Gift Cards!"},
        headers=editor(),
    )
    assert response.status == 422
    fields = {f["field"] for f in (await response.json())["fields"]}
    assert {"category", "answer_en"} <= fields
    still_open = await (await client.get(f"/api/admin/unanswered/{qid}", headers=viewer())).json()
    assert still_open["status"] == "open"

    dismissed = await client.post(f"/api/admin/unanswered/{qid}/dismiss", headers=editor())
    assert dismissed.status == 200
    assert (await dismissed.json())["status"] == "dismissed"
    listed = await (
        await client.get(
            "/api/admin/unanswered", params={"kb": BRAND_B, "status": "dismissed"}, headers=viewer()
        )
    ).json()
    assert qid in [i["id"] for i in listed["items"]]
    missing = await client.post("/api/admin/unanswered/999999/dismiss", headers=editor())
    assert missing.status == 404


# --------------------------------------------------------------------------- OpenAPI


async def test_the_openapi_document_matches_the_routes(client: Client) -> None:
    response = await client.get("/api/openapi.json")  # no token needed
    assert response.status == 200
    document = await response.json()
    assert document["openapi"].startswith("3.")

    routes = {
        (route.method.lower(), route.resource.canonical)
        for route in client.server.app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    documented = {
        (method, path) for path, operations in document["paths"].items() for method in operations
    }
    assert documented <= routes, documented - routes
    admin = {(m, p) for m, p in routes if p.startswith("/api/admin")}
    assert admin <= documented, admin - documented
    assert len(admin) >= 15

    schemas = document["components"]["schemas"]
    create = document["paths"]["/api/admin/kbs/{kb}/records"]["post"]
    assert create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/WriteOut"
    )
    assert {"401", "403", "422", "409"} <= set(create["responses"])
    assert "Faq" in schemas and "Product" in schemas
    assert "price" in schemas["Product"]["properties"]
    listing = document["paths"]["/api/admin/kbs/{kb}/records"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"kb", "kind", "q", "limit", "offset"}
    assert "403" not in listing["responses"]  # viewers may read

    def refs(node: Any) -> set[str]:
        if isinstance(node, dict):
            found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
            return found.union(*(refs(v) for v in node.values()))
        if isinstance(node, list):
            return set().union(*(refs(v) for v in node))
        return set()

    for ref in refs(document):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


@pytest.mark.parametrize("path", ["/console", "/console/static/console.js"])
async def test_the_console_page_is_served(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status == 200
