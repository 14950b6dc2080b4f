"""How long to wait for a reply and how often to ask again, from what the line has shown so far.

Pure arithmetic: ``BoardClient`` feeds it round-trip times and frame counts
and asks it for deadlines and budgets; nothing here touches a port.

- **Deadlines scale with the machine.** The reply timeout follows the
  measured round trips (smoothed RTT + 4 deviations, as TCP does; 0.5 s before
  the first one) and doubles after each silent try, so a lost reply is asked
  again after a few round trips. The board is declared gone only after a
  stretch of silence that does not depend on how fast it answered before:
  0.5 + 1 + 2 + 4 s (and at least four silent tries). A board held up for
  seconds — a loaded machine, a simulator sharing two cores with a test
  suite — is waited for.
- **Retries scale with the error rate.** A try that ended in damaged frames
  shows that the board is there and the line is bad; it does not count against
  the silence budget (only consecutive silent tries do). It counts against a
  budget that grows with the observed share ``p`` of tries that got no intact
  reply: ``ceil(ln(MISS) / ln(p))`` tries make a request fail with probability
  below ``MISS`` — capped at ``MAX_TRIES``. A line that needs more than the
  cap is hopeless, which ``EVIDENCE`` tries are enough to tell; the error says
  so with the frame counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_TIMEOUT = 0.5  # s: the floor of a reply deadline
MAX_TIMEOUT = 4.0  # s: the longest single wait after backing off
RTO_FLOOR = 0.05  # s: the shortest reply deadline, however fast the round trips were
SILENT_RETRIES = 3  # re-sends after silent tries before the board is declared gone
MISS = 1e-9  # allowed chance that a request still fails on a line of the observed loss
MAX_TRIES = 400  # per request; a line that needs more is hopeless
EVIDENCE = 200  # tries of one request before a line is judged hopeless
RTT_GAIN, RTTVAR_GAIN = 1 / 8, 1 / 4  # RFC 6298's smoothing gains


@dataclass
class LinkHealth:
    """Frames seen intact and damaged (the board reports ours), requests sent and answered."""

    intact: int = 0
    damaged: int = 0
    sent: int = 0  # request frames sent, re-sends included
    answered: int = 0  # of them, answered intact

    @property
    def loss(self) -> float:
        """Estimated chance that a try gets no intact reply (Laplace: 1/2 before evidence)."""
        lost = max(0, self.sent - self.answered)
        return (lost + 1) / (self.sent + 2)

    def noisy_message(self) -> str:
        return (
            f"line too noisy: {self.damaged} CRC errors in {self.intact + self.damaged} frames"
        )


@dataclass
class RetryPolicy:
    """Reply deadlines and retry budgets; see the module docstring."""

    min_timeout: float = MIN_TIMEOUT
    silent_retries: int = SILENT_RETRIES
    srtt: float | None = None
    rttvar: float = 0.0
    min_rtt: float = 0.0  # the fastest round trip seen: no reply comes back sooner

    def observe_rtt(self, seconds: float) -> None:
        """A round trip of a request answered at its first try (Karn: never a re-sent one)."""
        self.min_rtt = seconds if self.srtt is None else min(self.min_rtt, seconds)
        if self.srtt is None:
            self.srtt, self.rttvar = seconds, seconds / 2
            return
        self.rttvar += RTTVAR_GAIN * (abs(self.srtt - seconds) - self.rttvar)
        self.srtt += RTT_GAIN * (seconds - self.srtt)

    def could_be_answered(self, since_sent: float) -> bool:
        """Whether a try sent ``since_sent`` s ago could have been answered by now: a
        damaged frame arriving sooner is some earlier frame's, not this try's reply (half
        the fastest round trip seen, for the jitter of a loaded machine)."""
        return since_sent >= self.min_rtt / 2

    def timeout(self, silent_tries: int) -> float:
        """The deadline of a try that follows ``silent_tries`` silent ones (backed off)."""
        base = self.min_timeout
        if self.srtt is not None:
            base = max(RTO_FLOOR, self.srtt + 4 * self.rttvar)
        return min(max(MAX_TIMEOUT, self.min_timeout), base * 2**silent_tries)

    @property
    def silence_limit(self) -> float:
        """Seconds of silence after which a board is gone: the backed-off waits from the floor."""
        return sum(
            min(max(MAX_TIMEOUT, self.min_timeout), self.min_timeout * 2**k)
            for k in range(self.silent_retries + 1)
        )

    def board_gone(self, silent_tries: int, silent_for: float) -> bool:
        """Whether a request's run of silent tries, lasting ``silent_for`` s, means no board."""
        return silent_tries > self.silent_retries and silent_for >= self.silence_limit

    def noisy_tries_allowed(self, health: LinkHealth) -> int:
        """Tries a request gets on a line of the observed loss (at least the silence budget)."""
        needed = math.ceil(math.log(MISS) / math.log(health.loss))
        if needed > MAX_TRIES:  # hopeless: no reason to try more than it takes to see that
            needed = EVIDENCE
        return max(self.silent_retries + 1, needed)


__all__ = ["LinkHealth", "RetryPolicy"]
