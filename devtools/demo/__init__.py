"""The demo office, Disdukcapil Kota Balikpapan: three weeks of invented records (`generator`), drawn seal
photos (`photos`), the demo users (`identities`), the history passkeys that sign its handoffs (`signing`) and
the loader that writes it all once (`loader`)."""
