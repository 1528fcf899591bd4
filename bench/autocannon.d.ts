// The part of autocannon 8's API the benchmark uses (the package ships no types and @types/autocannon is not installed).
declare module "autocannon" {
  namespace autocannon {
    type Request = {
      method?: string;
      path: string;
      headers?: Record<string, string>;
      body?: string;
      setupRequest?: (req: Record<string, unknown>) => Record<string, unknown>;
    };
    type Options = { url: string; connections?: number; duration?: number; requests?: Request[]; timeout?: number; pipelining?: number };
    type Stats = { average: number; mean: number; stddev: number; min: number; max: number; total: number; p50: number; p99: number };
    type Result = { requests: Stats; latency: Stats; throughput: Stats; errors: number; timeouts: number; non2xx: number; duration: number };
    interface Instance {
      on(event: "response", listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): this;
      on(event: "done", listener: (result: Result) => void): this;
      on(event: "error", listener: (error: Error) => void): this;
      stop(): void;
    }
  }
  function autocannon(options: autocannon.Options): autocannon.Instance;
  export default autocannon;
}
