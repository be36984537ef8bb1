"""What a record is, in Python: the JSON Schemas' validator, typed views, the custody hash, NIK rules, receipt
proofs, image headers and the principal who acts. Pure: imports neither the database nor any web code."""
