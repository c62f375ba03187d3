module perfkit.local/defective-wordgame

go 1.22
