package reports

import "testing"

func BenchmarkShareSheet(b *testing.B) {
	for _, name := range []string{"Łukasz Wróbel", "王秀英", "محمد عبد الله"} {
		b.Run(name, func(b *testing.B) {
			s := sheet()
			s.Custodian = name
			for i := 0; i < b.N; i++ {
				if _, err := RenderShareSheet(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
