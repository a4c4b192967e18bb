module github.com/smgw/smgw

go 1.26.8
