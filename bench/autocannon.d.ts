// The part of autocannon's programmatic API the metrics benchmark uses (it ships no types).
declare module 'autocannon' {
  interface Result { requests: { total: number, average: number }, latency: { p50: number, p99: number } }
  interface Instance extends Promise<Result> { stop: () => void }
  interface Options { url: string, connections?: number, overallRate?: number, duration?: number }
  export default function autocannon (options: Options): Instance
}
