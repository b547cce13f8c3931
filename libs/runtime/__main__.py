from libs.runtime.cli import main

main()
