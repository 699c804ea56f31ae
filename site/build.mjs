// Builds the chat page into dist/: index.html, content-hashed assets, and size.json (the first-load budget); and the
// staff's admin page into dist/admin/ (its own entry, stylesheet and budget; see buildAdminPage).
// config.js is not built: each deployment generates its own (see config.example.js).
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import * as esbuild from 'esbuild'

const HERE = import.meta.dirname
const DIST = join(HERE, 'dist')
const ASSETS = join(DIST, 'assets')
const BUDGET_BYTES = 40 * 1024 // first load, gzipped: HTML + CSS + JS + favicon + config.js
const EMBED_BUDGET_BYTES = 3 * 1024 // embed.js, gzipped: what every page of an embedding site loads
const EMBED_SCRIPT = 'embed.js' // its stable name (contracts/embedding.py EMBED_SCRIPT)
const TARGET = ['chrome111', 'firefox114', 'safari16.4'] // Tailwind 4's own browser floor
const run = promisify(execFile)

/** @param {string | Uint8Array} content */
const contentHash = (content) => createHash('sha256').update(content).digest('hex').slice(0, 10)
/** @param {string | Uint8Array} content */
const gzipBytes = (content) => gzipSync(content, { level: 9 }).length

async function bundleScripts () {
  const app = await esbuild.build({
    entryPoints: [join(HERE, 'src/main.js')],
    bundle: true,
    format: 'esm',
    minify: true,
    target: TARGET,
    legalComments: 'none',
    charset: 'utf8',
    write: false
  })
  const themeInit = await esbuild.transform(await readFile(join(HERE, 'src/theme-init.js'), 'utf8'), {
    minify: true,
    target: TARGET,
    legalComments: 'none'
  })
  return { app: app.outputFiles[0].text, themeInit: themeInit.code }
}

/** @param {string} [input] the stylesheet to build (default: the chat page's) */
async function buildStyles (input = join(HERE, 'src/styles.css')) {
  const scratch = await mkdtemp(join(tmpdir(), 'chat-css-'))
  try {
    const output = join(scratch, 'app.css')
    const cli = join(HERE, 'node_modules/@tailwindcss/cli/dist/index.mjs')
    await run(process.execPath, [cli, '--input', input, '--output', output, '--minify'], { cwd: HERE })
    return await readFile(output, 'utf8')
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

/**
 * @param {string} template
 * @param {Record<string, string>} names placeholder -> hashed path
 */
function renderHtml (template, names) {
  const html = template
    .replace(/<!--[\s\S]*?-->\s*/g, '')
    .replace(/\{\{([\w.-]+)\}\}/g, (_, key) => {
      if (!(key in names)) throw new Error(`index.html names an unknown asset {{${key}}}`)
      return names[key]
    })
    .replace(/\n\s+/g, '\n')
  return html
}

async function main () {
  const [{ app, themeInit }, css, template, exampleConfig, favicon] = await Promise.all([
    bundleScripts(),
    buildStyles(),
    readFile(join(HERE, 'index.html'), 'utf8'),
    readFile(join(HERE, 'config.example.js'), 'utf8'),
    readFile(join(HERE, 'src/favicon.svg'), 'utf8')
  ])
  const assets = {
    'app.js': [`assets/app-${contentHash(app)}.js`, app],
    'app.css': [`assets/app-${contentHash(css)}.css`, css],
    'theme-init.js': [`assets/theme-init-${contentHash(themeInit)}.js`, themeInit],
    'favicon.svg': [`assets/favicon-${contentHash(favicon)}.svg`, favicon] // browsers fetch it with the page
  }
  const html = renderHtml(template, Object.fromEntries(Object.entries(assets).map(([key, [path]]) => [key, path])))

  await rm(DIST, { recursive: true, force: true })
  await mkdir(ASSETS, { recursive: true })
  await writeFile(join(DIST, 'index.html'), html)
  for (const [path, content] of Object.values(assets)) await writeFile(join(DIST, path), content)

  /** @type {Record<string, number>} */
  const files = { 'index.html': gzipBytes(html) }
  for (const [path, content] of Object.values(assets)) files[path] = gzipBytes(content)
  files['config.js'] = gzipBytes(exampleConfig) // a typical one; generated per deployment
  const firstLoadGzipBytes = Object.values(files).reduce((sum, n) => sum + n, 0)
  await writeFile(join(DIST, 'size.json'), JSON.stringify({ firstLoadGzipBytes, budgetBytes: BUDGET_BYTES, files }, null, 2) + '\n')

  for (const [path, bytes] of Object.entries(files)) console.log(`  ${path.padEnd(34)} ${String(bytes).padStart(6)} B gz`)
  console.log(`first load: ${firstLoadGzipBytes} B gzipped (budget ${BUDGET_BYTES} B)`)
  if (firstLoadGzipBytes > BUDGET_BYTES) {
    throw new Error(`first load is ${firstLoadGzipBytes} B gzipped, over the ${BUDGET_BYTES} B budget`)
  }
  await buildAdminPage({ 'theme-init.js': assets['theme-init.js'], 'favicon.svg': assets['favicon.svg'] }, exampleConfig)
  await buildEmbedLoader()
}

// --- the admin page (/admin/): its own entry, stylesheet and budget; shares theme-init.js and the favicon --------

const ADMIN_BUDGET_BYTES = 30 * 1024 // the staff page's first load, gzipped (it is not the end users' page)

/**
 * Builds dist/admin/index.html (assets by absolute path: the page lives at /admin/) and dist/admin/size.json.
 * @param {Record<string, [string, string]>} shared hashed path and content of the assets both pages load
 * @param {string} exampleConfig
 */
async function buildAdminPage (shared, exampleConfig) {
  const [bundle, css, template] = await Promise.all([
    esbuild.build({
      entryPoints: [join(HERE, 'src/admin/main.js')],
      bundle: true,
      format: 'esm',
      minify: true,
      target: TARGET,
      legalComments: 'none',
      charset: 'utf8',
      write: false
    }),
    buildStyles(join(HERE, 'src/admin/admin.css')),
    readFile(join(HERE, 'admin.html'), 'utf8')
  ])
  const js = bundle.outputFiles[0].text
  /** @type {Record<string, [string, string]>} */
  const assets = {
    ...shared,
    'admin.js': [`assets/admin-${contentHash(js)}.js`, js],
    'admin.css': [`assets/admin-${contentHash(css)}.css`, css]
  }
  const html = renderHtml(template, Object.fromEntries(Object.entries(assets).map(([key, [path]]) => [key, `/${path}`])))
  await mkdir(join(DIST, 'admin'), { recursive: true })
  await writeFile(join(DIST, 'admin', 'index.html'), html)
  for (const [path, content] of Object.values(assets)) await writeFile(join(DIST, path), content)

  /** @type {Record<string, number>} */
  const files = { 'admin/index.html': gzipBytes(html), 'config.js': gzipBytes(exampleConfig) }
  for (const [path, content] of Object.values(assets)) files[path] = gzipBytes(content)
  const firstLoadGzipBytes = Object.values(files).reduce((sum, n) => sum + n, 0)
  const report = { firstLoadGzipBytes, budgetBytes: ADMIN_BUDGET_BYTES, files }
  await writeFile(join(DIST, 'admin', 'size.json'), JSON.stringify(report, null, 2) + '\n')
  console.log(`admin page first load: ${firstLoadGzipBytes} B gzipped (budget ${ADMIN_BUDGET_BYTES} B)`)
  if (firstLoadGzipBytes > ADMIN_BUDGET_BYTES) {
    throw new Error(`the admin page's first load is ${firstLoadGzipBytes} B gzipped, over its ${ADMIN_BUDGET_BYTES} B budget`)
  }
}

// --- the embed loader: its own script for other sites, outside the page's first load -------------------------

/**
 * embed.js twice: at a stable name (sites paste one URL; cached minutes) and content-hashed (immutable, for a site
 * that pins a version). Its gzipped size goes into size.json as `embed` and must stay within EMBED_BUDGET_BYTES.
 */
async function buildEmbedLoader () {
  const { code } = await esbuild.transform(await readFile(join(HERE, 'src', EMBED_SCRIPT), 'utf8'), {
    minify: true,
    target: TARGET,
    legalComments: 'none',
    charset: 'utf8'
  })
  const hashed = `assets/embed-${contentHash(code)}.js`
  await writeFile(join(DIST, EMBED_SCRIPT), code)
  await writeFile(join(DIST, hashed), code)
  const gzip = gzipBytes(code)
  const sizePath = join(DIST, 'size.json')
  const size = JSON.parse(await readFile(sizePath, 'utf8'))
  size.embed = { file: EMBED_SCRIPT, hashed, gzipBytes: gzip, budgetBytes: EMBED_BUDGET_BYTES }
  await writeFile(sizePath, JSON.stringify(size, null, 2) + '\n')
  console.log(`embed loader: ${gzip} B gzipped (budget ${EMBED_BUDGET_BYTES} B)`)
  if (gzip > EMBED_BUDGET_BYTES) {
    throw new Error(`${EMBED_SCRIPT} is ${gzip} B gzipped, over the ${EMBED_BUDGET_BYTES} B budget`)
  }
}

main().catch((error) => {
  console.error(`build failed: ${error.message}`)
  process.exitCode = 1
})
