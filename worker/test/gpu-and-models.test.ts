import { test } from "node:test";
import assert from "node:assert/strict";
import { parseNvidiaSmi } from "../src/agent/gpu.ts";
import { parseModelSpecs, signedModel } from "../src/agent/models.ts";
import { adaptRequest, normalizeFinishReason } from "../src/agent/runtimes.ts";

// Output of: nvidia-smi --query-gpu=name,memory.used,memory.total,utilization.gpu --format=csv,noheader,nounits
const NVIDIA_SMI = `NVIDIA GeForce RTX 4090, 20311, 24564, 97
NVIDIA A100-SXM4-80GB, 512, 81920, 0
NVIDIA H100 80GB HBM3, [N/A], 81559, [Not Supported]
`;

test("nvidia-smi CSV becomes GPU stats, unknown values null", () => {
  assert.deepEqual(parseNvidiaSmi(NVIDIA_SMI), [
    { name: "NVIDIA GeForce RTX 4090", memoryUsedMiB: 20311, memoryTotalMiB: 24564, utilizationPct: 97 },
    { name: "NVIDIA A100-SXM4-80GB", memoryUsedMiB: 512, memoryTotalMiB: 81920, utilizationPct: 0 },
    { name: "NVIDIA H100 80GB HBM3", memoryUsedMiB: null, memoryTotalMiB: 81559, utilizationPct: null },
  ]);
  assert.deepEqual(parseNvidiaSmi("Weird, Name, With Commas, 1, 2, 3\n\ngarbage\n"), [
    { name: "Weird, Name, With Commas", memoryUsedMiB: 1, memoryTotalMiB: 2, utilizationPct: 3 },
  ]);
  assert.deepEqual(parseNvidiaSmi(""), []);
});

test("--models: public name, signed identity and runtime name", () => {
  const [a, b, c] = parseModelSpecs(
    "llama-3.1-8b-instruct:0xabcdef0123456789/q4_k_m=llama3.1:8b-instruct-q4_K_M, qwen2.5-7b, meta-llama/Llama-3.1-70B:deadbeefcafe",
  );
  assert.equal(a!.name, "llama-3.1-8b-instruct");
  assert.equal(a!.upstreamName, "llama3.1:8b-instruct-q4_K_M");
  assert.equal(signedModel(a!), "llama-3.1-8b-instruct:0xabcdef0123456789/q4_k_m");
  assert.equal(b!.upstreamName, "qwen2.5-7b");
  assert.equal(signedModel(b!), "qwen2.5-7b");
  assert.equal(c!.name, "meta-llama/Llama-3.1-70B");
  assert.equal(signedModel(c!), "meta-llama/Llama-3.1-70B:deadbeefcafe");
  assert.throws(() => parseModelSpecs("a,a"), /twice/);
  assert.throws(() => parseModelSpecs("bad name"));
  assert.throws(() => parseModelSpecs("m:not-hex"));
});

test("requests are adapted per runtime: usage always requested, budget in the honoured field", () => {
  const body = { model: "public", stream: true, max_completion_tokens: 64, messages: [] };
  const v = adaptRequest("vllm", body, "meta-llama/x");
  assert.deepEqual(v.stream_options, { include_usage: true });
  assert.equal(v.model, "meta-llama/x");
  assert.equal(v.max_completion_tokens, 64);
  for (const rt of ["ollama", "llamacpp", "tgi"] as const) {
    const o = adaptRequest(rt, { ...body, stream_options: { include_usage: false } }, "m");
    assert.equal(o.max_tokens, 64, rt);
    assert.equal(o.max_completion_tokens, undefined, rt);
    assert.deepEqual(o.stream_options, { include_usage: true }, rt);
  }
  assert.equal(adaptRequest("openai", { model: "x", stream_options: { include_usage: true } }, "x").stream_options, undefined);
});

test("finish reasons are mapped to OpenAI's", () => {
  assert.equal(normalizeFinishReason("eos_token"), "stop");
  assert.equal(normalizeFinishReason("stop_sequence"), "stop");
  assert.equal(normalizeFinishReason("length"), "length");
  assert.equal(normalizeFinishReason(""), null);
  assert.equal(normalizeFinishReason(null), null);
  assert.equal(normalizeFinishReason("tool_calls"), "tool_calls");
});
