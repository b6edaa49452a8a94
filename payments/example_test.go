package payments_test

import (
	"fmt"
	"math/big"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"

	"github.com/lpswarm/archiver/payments"
	"github.com/lpswarm/archiver/postage"
)

// ExamplePriceFromPostage prices archiving for one year on depth-24
// batches at the Swarm docs' example postage price. The exchange rate is
// an assumption made for the example only: 1 xBZZ = 0.0001 ETH, so
// 10^16 PLUR = 10^14 wei and 1 PLUR = 1/100 wei.
//
// By hand:
//
//	blocks   = 365 × 86400 s / 5 s                = 6,307,200
//	amount   = 6,307,200 × 24,000                 = 151,372,800,000 PLUR/chunk
//	batch    = 151,372,800,000 × 2^24 (16,777,216) = 2,539,614,162,124,800,000 PLUR
//	storage  = batch / 47,060,000,000 bytes       ≈ 53,965,451.8089 PLUR/byte
//	× 64/59  (MEDIUM: 128 chunks stored per 118 data chunks, large files)
//	× 1.01   (1 % manifests and playlists)        ≈ 59,124,183.1343 PLUR/byte
//	× 1/100  wei per PLUR                         ≈ 591,241.8313 wei/byte
//	× 1.2    margin                               ≈ 709,490.1976 wei/byte
//
// A segment of 1.5 MB source plus 750 kB and 375 kB renditions bills
// 2,625,000 bytes: 2,625,000 × 709,490.1976 ≈ 1.862 × 10^12 wei.
func ExamplePriceFromPostage() {
	weiPerByte, b, err := payments.PriceFromPostage(payments.PostageParams{
		PricePerChunkPerBlock: big.NewInt(24000),
		BlockTime:             postage.GnosisBlockTime,
		Retention:             365 * 24 * time.Hour,
		Depth:                 24,
		Redundancy:            redundancy.MEDIUM,
		Overhead:              big.NewRat(1, 100),
		WeiPerPLUR:            big.NewRat(1, 100), // assumption, see above
		Margin:                big.NewRat(6, 5),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("amount per chunk:", b.AmountPerChunk, "PLUR")
	fmt.Println("batch cost:", b.BatchCost, "PLUR =", postage.FormatBZZ(b.BatchCost), "xBZZ")
	fmt.Println("effective capacity:", b.EffectiveBytes, "bytes")
	fmt.Println("storage:", b.StoragePLURPerByte.FloatString(4), "PLUR/byte")
	fmt.Println("redundancy factor:", b.RedundancyFactor.RatString(), "=", b.RedundancyFactor.FloatString(6))
	fmt.Println("overhead factor:", b.OverheadFactor.RatString())
	fmt.Println("postage per media byte:", b.PLURPerByte.FloatString(4), "PLUR/byte")
	fmt.Println("cost:", b.CostWeiPerByte.FloatString(4), "wei/byte")
	fmt.Println("price:", weiPerByte.FloatString(4), "wei/byte")

	info, err := payments.PriceInfo(weiPerByte)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("PriceInfo:", info.PricePerUnit, "wei per", info.PixelsPerUnit, "bytes")

	billed, err := payments.SegmentBytes(1_500_000, 750_000, 375_000)
	if err != nil {
		fmt.Println(err)
		return
	}
	fee, err := payments.Fee(info, billed)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("segment:", billed, "bytes, fee", fee.FloatString(0), "wei") // exact Rat, rounded for display
	// Output:
	// amount per chunk: 151372800000 PLUR
	// batch cost: 2539614162124800000 PLUR = 253.96141621248 xBZZ
	// effective capacity: 47060000000 bytes
	// storage: 53965451.8089 PLUR/byte
	// redundancy factor: 64/59 = 1.084746
	// overhead factor: 101/100
	// postage per media byte: 59124183.1343 PLUR/byte
	// cost: 591241.8313 wei/byte
	// price: 709490.1976 wei/byte
	// PriceInfo: 7695030911238144 wei per 10845859375 bytes
	// segment: 2625000 bytes, fee 1862411768731 wei
}
