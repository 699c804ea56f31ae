// config.js is generated per deployment (ChatSite writes it from the stack's outputs; the local stack and the
// browser tests serve their own). This example shows every key; the build counts it in the first-load budget.
window.CHATBOT_CONFIG = {
  region: 'us-east-1',
  identityPoolId: 'us-east-1:00000000-0000-0000-0000-000000000000',
  botId: 'ABCDEFGHIJ',
  botAliasId: 'KLMNOPQRST',
  localeId: 'en_US',
  apiBasePath: '/api',
  lexEndpoint: 'https://runtime-v2-lex.us-east-1.amazonaws.com',
  cognitoEndpoint: 'https://cognito-identity.us-east-1.amazonaws.com',
  suggestions: ['Where is my order?', 'Tell me about your laptops', 'I forgot my password', 'My Wi-Fi is not working'],
  embedOrigins: [], // the sites that may embed the chat with embed.js (the embedOrigins setting)
  // Branding: optional, each left out keeps the page's own look (contracts/branding.py checks them).
  botName: 'Acme Help',
  botSubtitle: 'Orders, returns and your account',
  welcomeText: 'Hi! I am the Acme assistant. Ask me about an order, a return or your account.',
  accentColor: '#0f766e',
  privacyNoticeUrl: 'https://www.example.com/privacy'
}
