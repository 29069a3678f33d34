"""Finding a matter: the catalogue, search, pinyin input, office guides and what is offered."""
