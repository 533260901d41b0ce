"""bench_promote's Slack side: `/ecr promote` sent to the running bot as Slack sends it (signed
HTTP), timed from the request to the thread's final "Promoted" message reaching the Slack
stand-in, the way the issue's other promotion figures are timed. The bot is already running, as
it is in `#platform-team`: no interpreter start or imports in the figure (the CLI pays them;
bench_promote times it too)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.e2e.harness import ALICE, APP_TEAM_GROUP, service_env
from tests.e2e.world import World
from tests.standins.slack_api import Call, SlackStandIn

FINAL = (":white_check_mark: Promoted", ":x:")
TIMEOUT_S = 300.0


class SlackPromoter:
    """A bot whose catalog promotes each of `names` from the home registry to `prod` (the
    registry `registries` names), driven over signed HTTP."""

    def __init__(
        self,
        tmp: Path,
        slack: SlackStandIn,
        names: list[str],
        registries: dict[str, dict[str, str]],
    ) -> None:
        self.world = World(tmp, service_env(), slack)
        self.world.registries = registries
        for name in names:
            self.world.apps[name] = {
                "source": str(tmp),
                "pushers": [APP_TEAM_GROUP],
                "environments": [{"name": "prod", "registry": "prod"}],
            }
        self.world.start_bot()

    def promote(self, name: str) -> tuple[float, str]:
        """(seconds from sending the request to the final message, that message's text)."""
        slack = self.world.slack
        started = time.monotonic()
        response = self.world.slash(f"promote {name} 1.0.0 prod", user=ALICE)
        if response.status_code != 200:
            raise RuntimeError(f"/ecr promote answered {response.status_code}: {response.text}")

        def final(call: Call) -> bool:
            said = str(call.params.get("text", ""))
            return (
                call.method == "chat.postMessage"
                and call.at >= started
                and said.startswith(FINAL)
                and name in said  # the target URI, or the refusal's words
            )

        # Waits on the stand-in's record (a condition, no polling).
        done = slack.wait_for(final, timeout=TIMEOUT_S)
        return done.at - started, str(done.params.get("text", ""))

    def stop(self) -> None:
        self.world.stop()
