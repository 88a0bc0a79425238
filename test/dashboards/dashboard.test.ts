// The shipped Grafana dashboard only queries metrics the engine exports, uses the datasource
// variable everywhere, and its PromQL parses (promtool check rules on the expressions).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMetrics } from '../../engine/metrics.js'
import { requireTool } from '../helpers/prometheus-bin.js'

interface Target { refId?: string, expr?: string, datasource?: { type?: string, uid?: string } }
interface Panel { id: number, type: string, title: string, datasource?: { type?: string, uid?: string }, targets?: Target[], panels?: Panel[], gridPos?: unknown }
interface Variable { name: string, type: string, query?: unknown, definition?: string }
interface Dashboard { schemaVersion: number, uid: string, title: string, panels: Panel[], templating: { list: Variable[] } }

const dashboard = JSON.parse(readFileSync(new URL('../../../dashboards/hashpipe.json', import.meta.url), 'utf8')) as Dashboard

function allPanels (panels: Panel[]): Panel[] {
  return panels.flatMap(p => [p, ...allPanels(p.panels ?? [])])
}

const kKeywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan', 'atan2'])

/** Metric names a PromQL expression selects: identifiers left once strings, label matchers, ranges, grouping clauses and function calls are removed. */
export function metricNames (expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ')
  const out = new Set<string>()
  for (const m of s.matchAll(/(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = s.slice(m.index + m[0].length)
    if (/^\s*\(/.test(rest)) continue
    if (kKeywords.has(m[0].toLowerCase())) continue
    out.add(m[0])
  }
  return [...out]
}

/** Every series name the registry exposes, histogram and summary suffixes included. */
async function exportedNames (): Promise<Set<string>> {
  const names = new Set<string>()
  for (const m of await createMetrics().registry.getMetricsAsJSON()) {
    names.add(m.name)
    const type = String(m.type)
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s)
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(m.name + s)
  }
  return names
}

function queries (): Array<{ where: string, expr: string }> {
  const out: Array<{ where: string, expr: string }> = []
  for (const p of allPanels(dashboard.panels)) {
    for (const target of p.targets ?? []) out.push({ where: `panel ${p.id} "${p.title}" ${target.refId ?? ''}`, expr: target.expr ?? '' })
  }
  for (const v of dashboard.templating.list) {
    if (v.type === 'query' && typeof v.definition === 'string') {
      out.push({ where: `variable ${v.name}`, expr: v.definition.replace(/^label_values\((.*),\s*\w+\)$/, '$1') })
    }
  }
  return out
}

t.test('the extractor finds metric names and nothing else', async t => {
  t.same(metricNames('histogram_quantile(0.99, sum by (le, endpoint) (rate(hashpipe_x_bucket{job=~"$job",a="b{c}"}[$__rate_interval])))'), ['hashpipe_x_bucket'])
  t.same(metricNames('sum(a_total{x="y"}) / clamp_min(sum(b_total), 1e-9) + on(instance) group_left c offset 5m'), ['a_total', 'b_total', 'c'])
  t.same(metricNames('time() - max without (job) (ts_seconds) > bool 0'), ['ts_seconds'])
  t.same(metricNames('up'), ['up'])
})

t.test('every panel queries only metrics the registry exports', async t => {
  const exported = await exportedNames()
  const qs = queries()
  t.ok(qs.length >= 20, `dashboard has queries (${qs.length})`)
  const used = new Set<string>()
  for (const { where, expr } of qs) {
    t.ok(expr.trim().length > 0, `${where}: has an expr`)
    const names = metricNames(expr)
    t.ok(names.length > 0, `${where}: selects at least one metric`)
    for (const n of names) {
      used.add(n.replace(/_(bucket|sum|count)$/, ''))
      t.ok(exported.has(n), `${where}: ${n} is exported by engine/metrics.ts`)
    }
  }
  // Proof the check can fail: a name we do not export is caught.
  t.notOk(exported.has('hashpipe_identifiers_uploaded_total'), 'an unexported name is not in the set')

  const own = (await createMetrics({ defaultMetrics: false }).registry.getMetricsAsJSON()).map(m => m.name)
  for (const name of own) t.ok(used.has(name), `${name} is shown on the dashboard`)
})

t.test('dashboard shape: schema, datasource variable, panels', async t => {
  t.ok(dashboard.schemaVersion >= 36, 'schemaVersion >= 36')
  t.equal(dashboard.uid, 'hashpipe')
  const ds = dashboard.templating.list.find(v => v.type === 'datasource')
  t.equal(ds?.name, 'DS_PROMETHEUS')
  t.equal(ds?.query, 'prometheus')
  const panels = allPanels(dashboard.panels)
  const ids = panels.map(p => p.id)
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique')
  for (const p of panels) {
    t.ok(p.gridPos !== undefined, `panel ${p.id} has a position`)
    if (p.type === 'row') continue
    t.same(p.datasource, { type: 'prometheus', uid: '${DS_PROMETHEUS}' }, `panel ${p.id} uses the datasource variable`)
    for (const target of p.targets ?? []) t.equal(target.datasource?.uid, '${DS_PROMETHEUS}', `panel ${p.id} ${target.refId ?? ''} target datasource`)
  }
  const titles = panels.map(p => p.title)
  for (const want of ['Throughput (identifiers/s)', 'Per-stage busy time', 'Rejects by reason', 'Duplicates/s by type', 'API requests by code class',
    'Rate-limit waits', 'Retries by reason', 'Request latency p50 / p99', 'Run outcomes', 'Run duration', 'Worker utilization']) {
    t.ok(titles.includes(want), `has panel "${want}"`)
  }
  const latency = panels.find(p => p.title === 'Request latency p50 / p99')
  const exprs = (latency?.targets ?? []).map(x => x.expr ?? '').join('\n')
  t.match(exprs, /histogram_quantile\(0\.5,/)
  t.match(exprs, /histogram_quantile\(0\.99,/)
})

t.test('every expression is valid PromQL (promtool check rules)', async t => {
  const tool = requireTool(t, 'promtool')
  if (tool === undefined) return
  const dir = mkdtempSync(join(tmpdir(), 'hashpipe-dash-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // Grafana's variables are not PromQL: substitute what Grafana would.
  const concrete = (e: string): string => e.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h').replaceAll('$job', '.*').replaceAll('$instance', '.*')
  const rules = queries().map(({ expr }, i) => `      - record: hashpipe:dashboard_check:${i}\n        expr: ${JSON.stringify(concrete(expr))}`)
  const file = join(dir, 'rules.yml')
  writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`)
  const res = spawnSync(tool, ['check', 'rules', file], { encoding: 'utf8', timeout: 20_000 })
  t.equal(res.status, 0, `promtool check rules: ${res.stdout}${res.stderr}`)

  writeFileSync(file, 'groups:\n  - name: bad\n    rules:\n      - record: x:y\n        expr: "sum(rate(foo[5m])"\n')
  t.not(spawnSync(tool, ['check', 'rules', file], { encoding: 'utf8', timeout: 20_000 }).status, 0, 'a broken expression is reported')
})
