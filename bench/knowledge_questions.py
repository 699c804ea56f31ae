"""The knowledge base's question set: questions the shipped guides answer (and which guide), and questions they
do not cover (the bot must fall back and offer a person). Used by tests/local/test_local_knowledge.py and
bench/knowledge.py. Written as users type: short, informal, sometimes without the guide's words.

Written with the guides, and the retrieval's fusion and threshold (local/knowledge.py) were tuned on them: they show
what the shipped set does, not how it does on unseen questions. The `knowledge` lines of bench/paraphrases.yaml were
written before the guides existed (for the intents the guides replaced) and are the fairer measure."""

from __future__ import annotations

ANSWERED: tuple[tuple[str, str], ...] = (
    # (question, the document that answers it)
    ("I forgot my password", "reset-your-password.md"),
    ("how do I reset my password", "reset-your-password.md"),
    ("my account is locked", "reset-your-password.md"),
    ("what are the password rules", "reset-your-password.md"),
    ("how often does my password expire", "reset-your-password.md"),
    ("change my password before it expires", "reset-your-password.md"),
    ("My Wi-Fi is not working", "fix-wifi-and-network-problems.html"),
    ("I can't connect to the wifi", "fix-wifi-and-network-problems.html"),
    ("the internet is really slow today", "fix-wifi-and-network-problems.html"),
    ("what is the guest wifi password", "fix-wifi-and-network-problems.html"),
    ("connect my tablet to the office wifi", "fix-wifi-and-network-problems.html"),
    ("how do I connect to the VPN", "connect-to-the-VPN.md"),
    ("the vpn keeps disconnecting", "connect-to-the-VPN.md"),
    ("VPN says certificate not valid", "connect-to-the-VPN.md"),
    ("do I need the VPN in the office", "connect-to-the-VPN.md"),
    ("GlobalConnect won't connect from my hotel", "connect-to-the-VPN.md"),
    ("how do I set up MFA", "set-up-MFA.md"),
    ("set up the authenticator app", "set-up-MFA.md"),
    ("I got a new phone, how do I move my authenticator", "set-up-MFA.md"),
    ("can I get MFA codes by text message", "set-up-MFA.md"),
    ("I keep getting approval requests I didn't start", "set-up-MFA.md"),
    ("I lost my phone and can't sign in with MFA", "set-up-MFA.md"),
    ("how do I add the office printer", "print-to-an-office-printer.pdf"),
    ("how do I release my print job", "print-to-an-office-printer.pdf"),
    ("the printer is jammed", "print-to-an-office-printer.pdf"),
    ("scan a document to my email", "print-to-an-office-printer.pdf"),
    ("can I print from my phone", "print-to-an-office-printer.pdf"),
    ("set up work email on my iPhone", "set-up-work-email-on-your-phone.txt"),
    ("how do I get outlook on my android phone", "set-up-work-email-on-your-phone.txt"),
    ("email stopped working on my phone after a password change", "set-up-work-email-on-your-phone.txt"),
    ("why can't I use the built-in mail app", "set-up-work-email-on-your-phone.txt"),
    ("my phone was stolen", "set-up-work-email-on-your-phone.txt"),
    ("I got a suspicious email", "report-a-phishing-email.md"),
    ("how do I report phishing", "report-a-phishing-email.md"),
    ("I clicked a link in a phishing email", "report-a-phishing-email.md"),
    ("how can I tell if an email is phishing", "report-a-phishing-email.md"),
    ("how do I install zoom", "install-approved-software.md"),
    ("can I get admin rights on my laptop", "install-approved-software.md"),
    ("the software I need is not in software center", "install-approved-software.md"),
    ("how do I get a Visio licence", "install-approved-software.md"),
)

NOT_COVERED: tuple[str, ...] = (
    "tell me a joke",
    "what's the weather like tomorrow",
    "who won the game last night",
    "how do I book a meeting room",
    "how many vacation days do I have",
    "my monitor is flickering",
    "where is the cafeteria",
    "can you order pizza for the team",
    "what is the meaning of life",
    "my chair is broken",
    "asdf qwerty",
    "when is payday",
    "how do I expense a taxi ride",
    "what time does the office open",
    "can I bring my dog to work",
    "sing me a song",
    "how do I set up a new employee's desk phone",
    "the coffee machine is empty",
    "what's the capital of France",
    "recommend a good book",
)
