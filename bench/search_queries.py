"""The 20 one-word queries every search benchmark uses (the federated-search issue's)."""

QUERIES = [
    "history",
    "war",
    "poetry",
    "england",
    "music",
    "art",
    "science",
    "children",
    "law",
    "church",
    "women",
    "education",
    "religion",
    "world",
    "new",
    "france",
    "life",
    "health",
    "american",
    "york",
]
