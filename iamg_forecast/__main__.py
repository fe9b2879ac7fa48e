"""``python -m iamg_forecast`` runs the command line."""

from iamg_forecast.cli import main

main()
