from zhengfeng.cli import main

main()
