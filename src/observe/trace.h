// Trace ids for logs and propagation, following W3C Trace Context:
//   traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
//                ver-trace id (32 hex)             -parent id (16 hex)-flags
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace jinn::observe {

struct TraceContext {
  std::string trace_id;   // 32 lowercase hex, not all zeros
  std::string parent_id;  // 16 lowercase hex, not all zeros
  uint8_t flags = 0;      // bit 0: sampled
};

// Parses a traceparent header value. Version 00 must be exactly 55 characters;
// a later version (not ff) may carry more fields after a '-', which are
// ignored, as the spec asks. Hex must be lowercase. nullopt if malformed.
std::optional<TraceContext> parseTraceparent(std::string_view header);

// A fresh random trace id (32 hex) / span id (16 hex), never all zeros. Uses
// a per-thread generator seeded from getrandom(2): no lock, no syscall per id.
// Not for secrets.
std::string newTraceId();
std::string newSpanId();

// The request's trace id: the one in `traceparent` when it is valid, else a new one.
std::string traceIdFor(std::string_view traceparent);

// "00-<trace_id>-<span_id>-<flags>", for the header sent upstream.
std::string formatTraceparent(std::string_view trace_id, std::string_view span_id, uint8_t flags);

}  // namespace jinn::observe
