"""``python -m reference_impl``: the reference connector as a black-box process (:mod:`reference_impl.service`)."""

from reference_impl.service import main

main()
