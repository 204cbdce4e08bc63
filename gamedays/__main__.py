from gamedays.cli import main

main()
