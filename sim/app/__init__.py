"""The educators' app (the `viz` extra): `classroom` (the runs the page drives, no Solara),
`page` (the Solara page), `cli` (`vpsim-app`), `assets` (Solara's front-end files, offline)."""
