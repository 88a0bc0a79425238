// Every count a person reads is written one way: en-US thousands separators ("623,450"),
// whatever the machine's locale, so logs, tests and screenshots agree.
export function formatCount (v: number): string {
  return Math.round(v).toLocaleString('en-US')
}
