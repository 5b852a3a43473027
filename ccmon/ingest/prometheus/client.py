"""HTTP to the Prometheus API: one ``httpx.AsyncClient`` for the source's whole life.

Every failure (refused, timed out, 5xx, 401, an answer that is not Prometheus JSON) becomes a
``PromError`` carrying one line for the status bar, which shows the URL next to it; nothing
else escapes.
"""

from __future__ import annotations

import os

import httpx

from .api import PromError, Sample, Series, body_data, instant_samples, one_line, range_series, string_list
from .config import Config


class PromClient:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.requests = 0  # HTTP requests sent, for the per-poll query budget
        self._http = httpx.AsyncClient(
            base_url=config.base_url + "/",
            headers=dict(config.headers),
            auth=httpx.BasicAuth(*config.auth) if config.auth else None,
            timeout=config.timeout_s,
            # Redirects are not followed: the Authorization header should not travel elsewhere.
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def query(self, promql: str, at_s: float) -> tuple[Sample, ...]:
        return instant_samples(await self._call("api/v1/query", {"query": promql, "time": f"{at_s:.3f}"}))

    async def query_matrix(self, promql: str, at_s: float, timeout_s: float | None = None) -> tuple[Series, ...]:
        """An instant query of a range selector: raw samples with their own timestamps."""
        return range_series(
            await self._call("api/v1/query", {"query": promql, "time": f"{at_s:.3f}"}, timeout_s=timeout_s)
        )

    async def query_range(self, promql: str, start_s: float, end_s: float, step_s: float) -> tuple[Series, ...]:
        data = await self._call(
            "api/v1/query_range",
            {"query": promql, "start": f"{start_s:.3f}", "end": f"{end_s:.3f}", "step": f"{step_s:.3f}"},
        )
        return range_series(data)

    async def label_values(self, label: str, match: str, start_s: float, end_s: float) -> tuple[str, ...]:
        params = {"match[]": match, "start": f"{start_s:.3f}", "end": f"{end_s:.3f}"}
        return string_list(await self._call(f"api/v1/label/{label}/values", params, post=False))

    async def _call(self, path: str, params: dict[str, str], post: bool = True, timeout_s: float | None = None):
        """POST (form) for queries, which can be long; GET where the API has no POST."""
        timeout_s = timeout_s or self.config.timeout_s
        self.requests += 1
        # VictoriaMetrics: answer from the data, not its response cache, which holds back the
        # newest -search.latencyOffset (30 s) of results. Prometheus ignores the parameter.
        params = {**params, "nocache": "1"}
        try:
            if post:
                r = await self._http.post(path, data=params, timeout=timeout_s)
            else:
                r = await self._http.get(path, params=params, timeout=timeout_s)
        except httpx.TimeoutException:
            raise PromError(f"no answer within {timeout_s:g} s") from None
        except httpx.ConnectError as exc:
            raise PromError(f"cannot connect: {_os_reason(exc)}") from None
        except httpx.HTTPError as exc:
            raise PromError(f"{type(exc).__name__}: {one_line(str(exc) or 'request failed', 120)}") from None
        return body_data(r.status_code, r.reason_phrase, r.content)


def _os_reason(exc: BaseException) -> str:
    """The operating system's words ("Connection refused", "Name or service not known"):
    httpx wraps them as "All connection attempts failed"."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno:
            # asyncio words a refusal "Connect call failed (addr)"; the errno's own name is clearer
            return os.strerror(cause.errno) if cause.errno > 0 else str(cause.strerror)
        cause = cause.__cause__ or cause.__context__
    return one_line(str(exc) or "connection failed", 120)
