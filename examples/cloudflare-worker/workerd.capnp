# workerd config of the end-to-end test (e2e.test.mjs): the example worker as an ES-modules
# worker on loopback. build.sh writes build/ (wasm-bindgen's output and the module list).
# The test picks a free port: `--socket-addr http=127.0.0.1:PORT` overrides the one here.
using Workerd = import "/workerd/workerd.capnp";
using Build = import "build/modules.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .exampleWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

const exampleWorker :Workerd.Worker = (
  modules = Build.modules,
  compatibilityDate = "2025-09-01",
);
