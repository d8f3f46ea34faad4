-- Prints one machine-readable line after a wrk run:
-- RESULT requests/s p50_ms p95_ms p99_ms errors requests
-- (errors: connection failures, timeouts and answers of 400 or more).
local report = {}

function report.done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  io.write(string.format("RESULT %.1f %.2f %.2f %.2f %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, errors, summary.requests))
end

return report
