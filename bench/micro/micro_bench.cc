// Google Benchmark for the host-side pieces of one function request that are
// not I/O: the stdin envelope, the stdout parse, the memory reset. The HTTP
// figures (bench/wrk, bench/callgrind) are the sum of these and the rest;
// these say which piece moved. Inputs are the order-tax example's.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "contract/request.h"
#include "contract/response.h"
#include "runtime/abi.h"
#include "runtime/memory_pool.h"

namespace {

using jinn::contract::NameValue;

jinn::contract::RequestView orderRequest(const std::vector<NameValue>& headers, std::string_view body) {
  jinn::contract::RequestView v;
  v.method = "POST";
  v.uri = "/order";
  v.path = "/order";
  v.headers = headers;
  v.body = body;
  v.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  v.remote_addr = "127.0.0.1:51234";
  v.route = "/order";
  return v;
}

const std::vector<NameValue> kWrkHeaders = {
    {"Host", "127.0.0.1:8080"}, {"Content-Length", "21"}, {"Content-Type", "application/json"}};

void BM_EnvelopeOrder(benchmark::State& state) {
  const auto request = orderRequest(kWrkHeaders, R"({"id":42,"value":100})");
  std::string out;
  for (auto _ : state) {
    jinn::contract::encodeRequestTo(request, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_EnvelopeOrder);

// A 16 KiB JSON body with quotes to escape: the per-byte path.
void BM_EnvelopeJsonBody16KiB(benchmark::State& state) {
  std::string body;
  while (body.size() < (16u << 10)) body += R"({"name":"value","n":12345},)";
  const auto request = orderRequest(kWrkHeaders, body);
  std::string out;
  for (auto _ : state) {
    jinn::contract::encodeRequestTo(request, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_EnvelopeJsonBody16KiB);

void BM_ParseOrderResponse(benchmark::State& state) {
  const std::string out =
      R"({"status":200,"headers":{"Content-Type":["application/json"]},"body":"{\"id\":42,\"value\":100,\"tax\":15,\"total\":115}"})"
      "\n";
  for (auto _ : state) {
    auto parsed = jinn::contract::parseResponse(out);
    benchmark::DoNotOptimize(parsed);
  }
}
BENCHMARK(BM_ParseOrderResponse);

// Release of a 2-page memory with the blocks the order-tax example marks
// (its data segments, stack top, heap and stdio buffers).
void BM_PoolReleaseOrderMarks(benchmark::State& state) {
  jinn::runtime::MemoryPool pool(4u << 20, 4);
  const std::vector<std::pair<size_t, size_t>> runs = {{1, 4}, {67, 2}, {70, 5}, {127, 1}};
  for (auto _ : state) {
    auto* slot = pool.acquire(2 * 65536);
    for (auto [first, count] : runs) {
      for (size_t b = first; b < first + count; ++b) {
        slot->base[b * jinn::runtime::MemoryPool::kBlockBytes] = 1;
        slot->base[-1 - static_cast<ptrdiff_t>(b)] = 1;
      }
    }
    pool.release(slot, true);
  }
}
BENCHMARK(BM_PoolReleaseOrderMarks);

}  // namespace

BENCHMARK_MAIN();
