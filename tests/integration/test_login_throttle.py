"""Login: five failures lock the account for the window, twenty lock the address; a success clears;
an administrator releases; a disabled person's token stops working at once."""

from __future__ import annotations

from datetime import timedelta

from services.core.demo import DEMO_PASSWORD
from tests.helpers import Api


async def login(api: Api, username: str, password: str) -> int:
    r = await api.client.post("/api/v1/auth/token", data={"username": username, "password": password})
    return r.status_code


async def test_an_account_is_locked_and_released(api: Api) -> None:
    for _ in range(5):
        assert await login(api, "commander", "wrong") == 401
    r = await api.client.post("/api/v1/auth/token", data={"username": "commander", "password": DEMO_PASSWORD})
    assert r.status_code == 429 and r.json()["error"]["code"] == "login_locked"
    assert int(r.headers["Retry-After"]) > 800  # the window is 15 minutes
    assert await login(api, "deputy", DEMO_PASSWORD) == 200  # another account is not affected
    api.clock.advance(timedelta(minutes=16))
    assert await login(api, "commander", DEMO_PASSWORD) == 200  # the window freed
    for _ in range(5):
        await login(api, "commander", "wrong")
    assert await login(api, "commander", DEMO_PASSWORD) == 429
    commander = await api.person_id("commander")
    assert (await api.post(f"/api/v1/people/{commander}/unlock", "c1_director")).status_code == 403
    released = await api.post(f"/api/v1/people/{commander}/unlock", "admin")
    assert released.status_code == 200 and released.json()["forgotten_failures"] == 5
    assert await login(api, "commander", DEMO_PASSWORD) == 200


async def test_a_success_clears_and_an_address_is_limited_too(api: Api) -> None:
    for _ in range(4):
        await login(api, "leader", "wrong")
    assert await login(api, "leader", DEMO_PASSWORD) == 200  # four, then right: cleared
    for _ in range(4):
        assert await login(api, "leader", "wrong") == 401  # counting from zero again
    names = [f"nobody{i}" for i in range(20)]
    for name in names:
        await login(api, name, "x")  # the address tries many accounts
    assert await login(api, "deputy", DEMO_PASSWORD) == 429  # even a right password, from this address


async def test_a_disabled_persons_token_stops_at_once(api: Api) -> None:
    headers = await api.headers("c1_vice")
    assert (await api.client.get("/api/v1/me", headers=headers)).status_code == 200
    vice = await api.person_id("c1_vice")
    r = await api.client.patch(f"/api/v1/people/{vice}", json={"active": False}, headers=await api.headers("admin"))
    assert r.status_code == 200
    assert (await api.client.get("/api/v1/me", headers=headers)).status_code == 401
