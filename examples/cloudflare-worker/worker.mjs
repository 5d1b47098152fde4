// The ES-module entry of the example worker: what workers-rs's worker-build shim does, by
// hand. `wasm-bindgen --target module` output (build/) instantiates the wasm when imported
// and exports the `#[event(fetch)]` handler as `fetch(request, env, ctx)`, returning a
// Promise of the Response. (The real shim also re-instantiates the wasm after a trap and
// wires RPC; the test needs neither.)
import { fetch } from "./build/cloudflare_worker_example.js";

export default { fetch };
