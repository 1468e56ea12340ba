systemk_itest(it_completion completion.sh)
