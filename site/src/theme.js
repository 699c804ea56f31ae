// @ts-check
// Light or dark: the class `dark` on <html> (theme-init.js sets it before first paint), the user's choice in
// localStorage, the system preference until the user chooses.
import { KEYS } from './store.js'

/** @typedef {'light' | 'dark'} Theme */

const DARK_QUERY = '(prefers-color-scheme: dark)'

/**
 * @param {HTMLElement} root
 * @returns {Theme}
 */
export function currentTheme (root) {
  return root.classList.contains('dark') ? 'dark' : 'light'
}

/**
 * Apply a theme the user chose and remember it.
 * @param {HTMLElement} root
 * @param {Storage} storage localStorage
 * @param {Theme} theme
 */
export function chooseTheme (root, storage, theme) {
  root.classList.toggle('dark', theme === 'dark')
  try {
    storage.setItem(KEYS.THEME, theme)
  } catch {} // not remembered; still applied
}

/**
 * Until the user chooses, follow the system when it switches between light and dark.
 * @param {HTMLElement} root
 * @param {Storage} storage localStorage
 * @param {(theme: Theme) => void} onChange
 */
export function followSystemTheme (root, storage, onChange) {
  window.matchMedia(DARK_QUERY).addEventListener('change', (event) => {
    if (storage.getItem(KEYS.THEME)) return
    root.classList.toggle('dark', event.matches)
    onChange(currentTheme(root))
  })
}
