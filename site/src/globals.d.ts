// Globals the page reads: config.js (generated per deployment) sets window.CHATBOT_CONFIG before the app runs.
interface Window {
  CHATBOT_CONFIG?: unknown
}
