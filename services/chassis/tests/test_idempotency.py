"""Idempotency-Key on the real database: a replay returns the stored response, a concurrent
duplicate waits for the first and gets its response, and a reused key with another body is 422."""

from __future__ import annotations

import asyncio

import pytest

from qlvb_chassis.http.problems import Problem
from qlvb_chassis.idempotency import IdempotencyClaim, IdempotencyKeys, StoredResponse, fingerprint

from .conftest import Env

pytestmark = pytest.mark.stack


async def create(env: Env, keys: IdempotencyKeys, key: str, body: dict[str, int]) -> object:
    """What a creating POST handler does: look up, create, store — in one transaction."""
    fp = fingerprint("POST", "/things", body)
    async with env.db.uow() as uow:
        earlier = await keys.lookup(uow.session, "vanthu", key, fp)
        if earlier is not None:
            return earlier.body
        await uow.session.execute(env.effects.insert().values(thing_id=key, n=body["n"]))
        response = {"created": body["n"]}
        await asyncio.sleep(0.05)  # widen the window for the concurrent duplicate
        raced = await keys.store(uow.session, "vanthu", key, fp, 201, response)
        if raced is not None:
            return raced.body  # leaving without commit rolls our creation back
        await uow.commit()
        return response


async def test_replay_and_concurrent_duplicate_create_once(env: Env) -> None:
    keys = IdempotencyKeys(env.tables)
    first, second = await asyncio.gather(
        create(env, keys, "key-1", {"n": 1}), create(env, keys, "key-1", {"n": 1})
    )
    assert first == second == {"created": 1}
    assert await create(env, keys, "key-1", {"n": 1}) == {"created": 1}
    assert await env.effect_rows() == [("key-1", 1)]


async def test_same_key_other_body_is_refused(env: Env) -> None:
    keys = IdempotencyKeys(env.tables)
    await create(env, keys, "key-2", {"n": 1})
    with pytest.raises(Problem) as refused:
        await create(env, keys, "key-2", {"n": 2})
    assert refused.value.status == 422


def test_key_validation() -> None:
    assert IdempotencyKeys.validate(None) is None
    assert IdempotencyKeys.validate(" abc ") == "abc"
    for bad in ("", "x" * 201, "a\nb"):
        with pytest.raises(Problem):
            IdempotencyKeys.validate(bad)


async def test_run_replays_and_lets_one_concurrent_twin_win(env: Env) -> None:
    keys = IdempotencyKeys(env.tables)
    claim = IdempotencyClaim.of("vanthu", "key-run", "POST", "/things", {"n": 3})

    async def request() -> StoredResponse:
        async with env.db.uow() as uow:

            async def work() -> StoredResponse:
                await uow.session.execute(env.effects.insert().values(thing_id="run", n=3))
                await asyncio.sleep(0.05)
                return StoredResponse(201, {"created": 3})

            return await keys.run(uow, claim, work)

    responses = await asyncio.gather(request(), request(), request())
    assert {(r.status_code, r.body["created"]) for r in responses} == {(201, 3)}
    assert await env.effect_rows() == [("run", 3)]
    assert IdempotencyClaim.of("vanthu", None, "POST", "/things", {}) is None
