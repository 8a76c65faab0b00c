"""Meta's three platforms: `graph` is the shared Graph API base (hub.challenge handshake, X-Hub-Signature-256, the
envelope's parse loop and the Graph POST), `page_messaging` holds Messenger and Instagram, `whatsapp` the WhatsApp
Cloud API, and `choices` their quick replies, buttons and lists."""
