// @ts-check
// The admin page's composition root: sign in (hosted UI, PKCE), then list, filter, open, group and export turns.
import { followSystemTheme } from '../theme.js'
import { AdminApi, SignedOutError } from './api.js'
import { beginSignIn, completeSignIn, currentTokens, readSignInConfig, signOut } from './auth.js'
import { AdminView } from './view.js'

const WEEK_MS = 7 * 86_400_000

async function start () {
  const view = new AdminView(document)
  const tab = window.sessionStorage
  followSystemTheme(document.documentElement, window.localStorage, () => {})
  const raw = /** @type {any} */ (window.CHATBOT_CONFIG)
  const config = readSignInConfig(raw)
  if (!config || typeof raw?.apiBasePath !== 'string') {
    view.renderSignedOut('Staff sign-in is not configured for this site (config.js has no staffSignIn).')
    view.signInButton.disabled = true
    return
  }
  view.signInButton.addEventListener('click', () => { beginSignIn(config, tab) })
  view.signOutButton.addEventListener('click', () => {
    signOut(tab)
    view.renderSignedOut()
  })

  try {
    const url = new URL(window.location.href)
    const fresh = await completeSignIn(config, tab, url)
    if (fresh || url.searchParams.has('error')) window.history.replaceState(null, '', '/admin/')
  } catch (error) {
    window.history.replaceState(null, '', '/admin/')
    view.renderSignedOut(error instanceof Error ? error.message : String(error))
    return
  }
  const tokens = currentTokens(tab)
  if (!tokens) {
    view.renderSignedOut()
    return
  }

  const api = new AdminApi({ basePath: raw.apiBasePath, token: () => currentTokens(tab)?.idToken ?? null })
  /** @type {string | null} */
  let cursor = null
  let filters = view.readFilters()

  /** @param {unknown} error */
  const fail = (error) => {
    if (error instanceof SignedOutError) {
      signOut(tab)
      view.renderSignedOut('Your sign-in has expired. Sign in again.')
      return
    }
    view.renderStatus('')
    view.renderError(error instanceof Error ? error.message : String(error))
  }
  /** @param {string} sessionId */
  const open = (sessionId) => {
    api.conversation(sessionId).then((answer) => view.renderConversation(answer.sessionId, answer.turns), fail)
  }
  /** @param {boolean} append */
  const loadTurns = async (append) => {
    view.renderStatus('Loading…')
    view.renderError('')
    const page = await api.turns(filters, append ? cursor : null)
    cursor = page.nextCursor
    view.renderTurns(page.turns, append, cursor !== null, open)
    view.renderStatus('')
  }
  const loadAll = () =>
    Promise.all([
      loadTurns(false),
      api.unanswered(filters).then((answer) => view.renderUnanswered(answer.questions)),
      api.worstRated(filters).then((answer) => view.renderWorstRated(answer.answers))
    ]).catch(fail)

  view.renderSignedIn(tokens.email)
  const now = Date.now()
  view.setRange({ from: now - WEEK_MS, to: now })
  filters = view.readFilters()
  view.filters.addEventListener('submit', (event) => {
    event.preventDefault()
    filters = view.readFilters()
    loadAll()
  })
  view.more.addEventListener('click', () => { loadTurns(true).catch(fail) })
  view.exportButton.addEventListener('click', () => {
    view.renderStatus('Exporting…')
    api.exportCsv(view.readFilters()).then(({ blob, name }) => {
      view.download(blob, name)
      view.renderStatus(`Exported ${name}`)
    }, fail)
  })
  await loadAll()
}

start()
