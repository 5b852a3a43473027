"""The Prometheus source: ccmon reads a team's Prometheus (or Thanos, Mimir, VictoriaMetrics)
instead of receiving OTLP itself.

How one poll flows, one module each:

    config    --prometheus URL, --header, --match, --interval  ->  Config
    client    HTTP: one httpx.AsyncClient, every failure turned into a one-line PromError
    api       Prometheus JSON answers -> Sample / Series (pure)
    naming    which metric names this server uses, from /api/v1/label/__name__/values (pure)
    promql    the fixed query plan for a naming, narrowed by --match (pure)
    fetch     discovery + the plan's queries -> Fetched (the raw results of one poll)
    build     Fetched -> Snapshot, the same type the OTLP source produces (pure)
    source    the dashboard's Source: polls on an interval, keeps the last good numbers
    report    ``ccmon report --prometheus``: one poll, the OTLP report's keys

Prometheus has metrics only, never events: event-derived fields of the Snapshot are None.
"""
